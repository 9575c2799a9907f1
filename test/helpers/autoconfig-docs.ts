/** A minimal valid config-v1.1.xml naming one IMAP and one SMTP host under `base`. */
export function autoconfigXml(base: string, options: { imapPort?: number; displayName?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${base}">
    <domain>${base}</domain>
    <displayName>${options.displayName ?? base}</displayName>
    <incomingServer type="imap">
      <hostname>imap.${base}</hostname>
      <port>${options.imapPort ?? 993}</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.${base}</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`;
}

/** A billion-laughs document: must be refused, never expanded. */
export const ENTITY_BOMB = `<?xml version="1.0"?>
<!DOCTYPE clientConfig [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<clientConfig version="1.1"><emailProvider id="bomb"><displayName>&e;&e;&e;&e;</displayName>
<incomingServer type="imap"><hostname>imap.bomb.test</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
</emailProvider></clientConfig>`;

/** An Autodiscover POX (2006a) answer with `settings`: IMAP on 993 and SMTP submission on 587 under `base`. */
export function autodiscoverXml(base: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
<Account><AccountType>email</AccountType><Action>settings</Action>
<Protocol><Type>IMAP</Type><Server>imap.${base}</Server><Port>993</Port><SSL>on</SSL><SPA>off</SPA><LoginName>%EMAILADDRESS%</LoginName></Protocol>
<Protocol><Type>SMTP</Type><Server>smtp.${base}</Server><Port>587</Port><SSL>on</SSL><Encryption>TLS</Encryption></Protocol>
</Account></Response></Autodiscover>`;
}

/** A PACC (draft-ietf-mailmaint-pacc-02) document naming IMAP, POP3 and SMTP hosts under `base`, and optionally JMAP. */
export function paccJson(base: string, options: { jmap?: string; oauthIssuer?: string } = {}): string {
  return JSON.stringify({
    protocols: {
      imap: { host: `imap.${base}` },
      pop3: { host: `pop.${base}` },
      smtp: { host: `smtp.${base}` },
      ...(options.jmap ? { jmap: { url: options.jmap } } : {}),
    },
    authentication: { password: true, ...(options.oauthIssuer ? { 'oauth-public': { issuer: options.oauthIssuer } } : {}) },
  });
}
