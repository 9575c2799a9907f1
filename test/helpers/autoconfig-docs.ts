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
