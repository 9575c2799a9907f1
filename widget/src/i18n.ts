// Every visible string of the widget, per language. Add a language by adding one table.

/** The strings the widget shows; `{name}` marks a value filled in at run time. */
export interface Strings {
  title: string;
  label: string;
  placeholder: string;
  presetPlaceholder: string;
  find: string;
  loading: string;
  found: string;
  notFound: string;
  notFoundHelp: string;
  invalid: string;
  rateLimited: string;
  rateLimitedIn: string;
  error: string;
  offline: string;
  incoming: string;
  outgoing: string;
  recommended: string;
  alternative: string;
  imapOnlyPop: string;
  whyImap: string;
  popExplain: string;
  popFits: string;
  showPop: string;
  smtpExplain: string;
  server: string;
  port: string;
  security: string;
  username: string;
  password: string;
  passwordNormal: string;
  passwordApp: string;
  signIn: string;
  signInWith: string;
  staleNote: string;
  tls: string;
  starttls: string;
  none: string;
  noneWarning: string;
  untrusted: string;
  copy: string;
  copied: string;
  copiedValue: string;
  copyFailed: string;
  userFull: string;
  userLocal: string;
  beforeYouStart: string;
  documentation: string;
  enableFirst: string;
  enableLink: string;
  moreOptions: string;
  checking: string;
  checkOk: string;
  checkOkCert: string;
  checkFailed: string;
  checkUnavailable: string;
  provider: string;
}

const en: Strings = {
  title: 'Find your email settings',
  label: 'Your email address',
  placeholder: 'name@example.com',
  presetPlaceholder: 'name@{domain}',
  find: 'Find settings',
  loading: 'Looking up settings for {query}…',
  found: 'Settings for {name}: {protocol} recommended.',
  notFound: 'We could not find settings for {domain}.',
  notFoundHelp: 'Check the spelling of the address, or ask your email provider for its IMAP and SMTP server names.',
  invalid: 'Please enter an email address such as name@example.com, or a domain.',
  rateLimited: 'Too many lookups right now. Please wait a moment and try again.',
  rateLimitedIn: 'Too many lookups right now. Please try again in {seconds} seconds.',
  error: 'Something went wrong while looking up the settings. Please try again.',
  offline: 'The settings service cannot be reached. Check your connection and try again.',
  incoming: 'Receiving mail',
  outgoing: 'Sending mail — SMTP',
  recommended: 'recommended',
  alternative: 'alternative',
  imapOnlyPop: 'This provider does not offer IMAP, so use POP3.',
  whyImap:
    'IMAP keeps your mail on the server, so every device stays in sync: read, deleted and filed mail and your folders are the same on your phone, tablet and computer.',
  popExplain:
    'POP3 downloads mail to one device and usually removes it from the server, so your other devices fall out of sync.',
  popFits: 'Choose POP3 only if you read mail on a single device or want an offline archive.',
  showPop: 'Alternative: POP3',
  smtpExplain: 'Your mail app sends email through this server. Sign in with the same username and password.',
  server: 'Server',
  port: 'Port',
  security: 'Security',
  username: 'Username',
  password: 'Password',
  passwordNormal: 'Your email password.',
  passwordApp: 'An app password (see the note above), not your normal password.',
  signIn: 'Sign-in',
  staleNote: 'Note: this domain\'s mail may have moved to another provider. If these settings do not work, ask your provider which ones to use.',
  signInWith: 'No password here: choose "Sign in with {name}" in your mail app, and sign in on {name}\'s own page.',
  tls: 'SSL/TLS',
  starttls: 'STARTTLS',
  none: 'None',
  noneWarning: 'Not encrypted: your password would travel in plain text.',
  untrusted: 'Found over an unencrypted channel; confirm with your provider.',
  copy: 'Copy',
  copied: 'Copied',
  copiedValue: 'Copied {value}',
  copyFailed: 'Copy did not work; select the text and copy it by hand.',
  userFull: 'Your full email address',
  userLocal: 'The part of your address before the @',
  beforeYouStart: 'Before you start',
  documentation: 'Provider help page',
  enableFirst: 'Your provider asks you to turn on access for mail apps before you set up the account.',
  enableLink: 'Open the settings page',
  moreOptions: 'Other settings that also work',
  checking: 'Checking the server…',
  checkOk: 'Server answered in {ms} ms.',
  checkOkCert: 'Server answered in {ms} ms; certificate valid for {days} more days.',
  checkFailed: 'Server check failed: {message}',
  checkUnavailable: 'Live check not available right now.',
  provider: 'Provider',
};

const de: Strings = {
  title: 'E-Mail-Einstellungen finden',
  label: 'Ihre E-Mail-Adresse',
  placeholder: 'name@beispiel.de',
  presetPlaceholder: 'name@{domain}',
  find: 'Einstellungen finden',
  loading: 'Einstellungen für {query} werden gesucht…',
  found: 'Einstellungen für {name}: {protocol} empfohlen.',
  notFound: 'Für {domain} haben wir keine Einstellungen gefunden.',
  notFoundHelp: 'Prüfen Sie die Schreibweise der Adresse oder fragen Sie Ihren E-Mail-Anbieter nach den IMAP- und SMTP-Servern.',
  invalid: 'Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de oder eine Domain ein.',
  rateLimited: 'Gerade gibt es zu viele Anfragen. Bitte warten Sie kurz und versuchen Sie es erneut.',
  rateLimitedIn: 'Gerade gibt es zu viele Anfragen. Bitte versuchen Sie es in {seconds} Sekunden erneut.',
  error: 'Beim Suchen der Einstellungen ist ein Fehler aufgetreten. Bitte versuchen Sie es erneut.',
  offline: 'Der Einstellungsdienst ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
  incoming: 'E-Mails empfangen',
  outgoing: 'E-Mails senden — SMTP',
  recommended: 'empfohlen',
  alternative: 'Alternative',
  imapOnlyPop: 'Dieser Anbieter bietet kein IMAP an, verwenden Sie daher POP3.',
  whyImap:
    'IMAP lässt Ihre E-Mails auf dem Server, so bleiben alle Geräte synchron: gelesene, gelöschte und abgelegte E-Mails und Ihre Ordner sind auf Handy, Tablet und Computer gleich.',
  popExplain:
    'POP3 lädt E-Mails auf ein Gerät herunter und löscht sie meist auf dem Server, dadurch sind Ihre anderen Geräte nicht mehr auf dem gleichen Stand.',
  popFits: 'Wählen Sie POP3 nur, wenn Sie E-Mails auf einem einzigen Gerät lesen oder ein Offline-Archiv möchten.',
  showPop: 'Alternative: POP3',
  smtpExplain: 'Über diesen Server verschickt Ihr E-Mail-Programm Nachrichten. Melden Sie sich mit demselben Benutzernamen und Passwort an.',
  server: 'Server',
  port: 'Port',
  security: 'Verschlüsselung',
  username: 'Benutzername',
  password: 'Passwort',
  passwordNormal: 'Ihr E-Mail-Passwort.',
  passwordApp: 'Ein App-Passwort (siehe Hinweis oben), nicht Ihr normales Passwort.',
  signIn: 'Anmeldung',
  staleNote: 'Hinweis: Die E-Mails dieser Domain sind möglicherweise zu einem anderen Anbieter umgezogen. Falls diese Einstellungen nicht funktionieren, fragen Sie Ihren Anbieter, welche gelten.',
  signInWith: 'Kein Passwort hier: Wählen Sie in Ihrer Mail-App „Mit {name} anmelden“ und melden Sie sich auf der Seite von {name} an.',
  tls: 'SSL/TLS',
  starttls: 'STARTTLS',
  none: 'Keine',
  noneWarning: 'Nicht verschlüsselt: Ihr Passwort würde im Klartext übertragen.',
  untrusted: 'Über einen unverschlüsselten Weg gefunden; bitte bei Ihrem Anbieter bestätigen.',
  copy: 'Kopieren',
  copied: 'Kopiert',
  copiedValue: '{value} kopiert',
  copyFailed: 'Kopieren hat nicht geklappt; bitte markieren und von Hand kopieren.',
  userFull: 'Ihre vollständige E-Mail-Adresse',
  userLocal: 'Der Teil Ihrer Adresse vor dem @',
  beforeYouStart: 'Bevor Sie beginnen',
  documentation: 'Hilfeseite des Anbieters',
  enableFirst: 'Ihr Anbieter verlangt, dass Sie den Zugriff für E-Mail-Programme einschalten, bevor Sie das Konto einrichten.',
  enableLink: 'Einstellungsseite öffnen',
  moreOptions: 'Weitere Einstellungen, die auch funktionieren',
  checking: 'Server wird geprüft…',
  checkOk: 'Server hat in {ms} ms geantwortet.',
  checkOkCert: 'Server hat in {ms} ms geantwortet; Zertifikat noch {days} Tage gültig.',
  checkFailed: 'Serverprüfung fehlgeschlagen: {message}',
  checkUnavailable: 'Live-Prüfung gerade nicht verfügbar.',
  provider: 'Anbieter',
};

/** The translation table: language code to strings. */
export const STRINGS: Record<string, Strings> = { en, de };

/** Picks the table for a language tag such as `de-AT`, falling back to English. */
export function stringsFor(lang: string | null | undefined): Strings {
  const base = (lang ?? '').toLowerCase().split('-')[0] ?? '';
  return STRINGS[base] ?? en;
}

/** Fills `{name}` placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}

const primarySubtag = (tag: string) => tag.split('-')[0] ?? '';

/**
 * Picks the text for a language tag from a document's per-language texts: the exact tag, then the
 * same primary subtag (`de-AT` finds `de`, `de` finds `de-CH`), then English, then the first.
 */
export function pickText<T extends { lang: string }>(texts: readonly T[], lang: string | null | undefined): T | undefined {
  const wanted = (lang ?? '').trim().toLowerCase().replaceAll('_', '-');
  const byTag = (tag: string) => texts.find((entry) => entry.lang.toLowerCase() === tag);
  const byPrimary = (tag: string) => texts.find((entry) => primarySubtag(entry.lang.toLowerCase()) === primarySubtag(tag));
  return (wanted ? byTag(wanted) ?? byPrimary(wanted) : undefined) ?? byTag('en') ?? byPrimary('en') ?? texts[0];
}
