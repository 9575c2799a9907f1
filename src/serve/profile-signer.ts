import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Raised when serving cannot be set up (a served domain without provider, an unusable signing key …). */
export class ServeConfigError extends Error {
  override name = 'ServeConfigError';
}

/** Where the signing certificate and key are (MOBILECONFIG_SIGN_CERT, MOBILECONFIG_SIGN_KEY). */
export interface ProfileSignerOptions {
  /** PEM: the signing certificate first, then any intermediate certificates to include. */
  certFile: string;
  /** PEM private key of the first certificate, unencrypted. */
  keyFile: string;
  /** The openssl binary (default `openssl` on PATH). */
  opensslPath?: string;
  /** Time limit of one signature (default 5 s). */
  timeoutMs?: number;
  /** Signatures running at once; more are refused as busy (default 4: each is a short process). */
  maxConcurrent?: number;
}

/** The outcome of one signature: DER bytes of the CMS SignedData, or a failure as a value. */
export type SignResult = { ok: true; der: Buffer } | { ok: false; code: 'busy' | 'sign_failed'; message: string };

/** Largest signed profile read back from openssl (a profile is a few KiB). */
const MAX_OUTPUT_BYTES = 1024 * 1024;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Signs configuration profiles as CMS SignedData (RFC 5652, what iOS and macOS verify) with the
 * system `openssl cms`, a maintained implementation, rather than hand-written ASN.1. One short
 * process per profile, with a time limit and a cap on how many run at once.
 */
export class ProfileSigner {
  #running = 0;

  private constructor(
    private readonly dir: string,
    private readonly args: string[],
    private readonly opensslPath: string,
    private readonly timeoutMs: number,
    private readonly maxConcurrent: number,
  ) {}

  /**
   * Reads the certificate file, keeps the signer and its chain apart (openssl refuses the signer in
   * both), and signs a probe once, so a wrong path, a key that does not match or a missing openssl
   * stops start-up with openssl's own message instead of failing the first download.
   */
  static async create(options: ProfileSignerOptions): Promise<ProfileSigner> {
    let pem: string;
    try {
      pem = await readFile(options.certFile, 'utf8');
    } catch (error) {
      throw new ServeConfigError(`MOBILECONFIG_SIGN_CERT: cannot read ${options.certFile}: ${(error as Error).message}`);
    }
    const certificates = pem.match(PEM_CERTIFICATE) ?? [];
    if (certificates.length === 0) throw new ServeConfigError(`MOBILECONFIG_SIGN_CERT: ${options.certFile} holds no PEM certificate`);
    const dir = await mkdtemp(join(tmpdir(), 'mailsettings-signer-'));
    await writeFile(join(dir, 'signer.pem'), `${certificates[0]}\n`, { mode: 0o600 });
    const args = ['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-md', 'sha256', '-signer', join(dir, 'signer.pem'), '-inkey', options.keyFile];
    if (certificates.length > 1) {
      await writeFile(join(dir, 'chain.pem'), `${certificates.slice(1).join('\n')}\n`, { mode: 0o600 });
      args.push('-certfile', join(dir, 'chain.pem'));
    }
    const signer = new ProfileSigner(dir, args, options.opensslPath ?? 'openssl', options.timeoutMs ?? 5_000, options.maxConcurrent ?? 4);
    const probe = await signer.sign(Buffer.from('probe'));
    if (!probe.ok) {
      await signer.close();
      throw new ServeConfigError(`MOBILECONFIG_SIGN_CERT/MOBILECONFIG_SIGN_KEY: cannot sign with ${options.certFile} and ${options.keyFile}: ${probe.message}`);
    }
    return signer;
  }

  /** Signs the bytes (the profile is embedded: Apple reads the content from the signature). */
  async sign(content: Buffer): Promise<SignResult> {
    if (this.#running >= this.maxConcurrent) return { ok: false, code: 'busy', message: 'too many profiles are being signed right now' };
    this.#running += 1;
    try {
      return await this.#run(content);
    } finally {
      this.#running -= 1;
    }
  }

  #run(content: Buffer): Promise<SignResult> {
    return new Promise((resolve) => {
      const child = spawn(this.opensslPath, this.args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let size = 0;
      let stderr = '';
      let done = false;
      const finish = (result: SignResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
        resolve(result);
      };
      const timer = setTimeout(() => finish({ ok: false, code: 'sign_failed', message: `openssl took longer than ${this.timeoutMs} ms` }), this.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES) finish({ ok: false, code: 'sign_failed', message: 'openssl wrote more than expected' });
        else out.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 2_000) stderr += chunk.toString();
      });
      child.on('error', (error) => finish({ ok: false, code: 'sign_failed', message: `cannot run ${this.opensslPath}: ${error.message}` }));
      child.on('close', (code) => {
        if (code === 0 && size > 0) finish({ ok: true, der: Buffer.concat(out) });
        else finish({ ok: false, code: 'sign_failed', message: `openssl exited with ${code}: ${stderr.trim().split('\n')[0] ?? ''}` });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(content);
    });
  }

  /** Removes the private copies of the certificates. */
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
