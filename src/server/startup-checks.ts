/**
 * What `parley serve` checks before it starts, so that a wrong setting stops it with one line
 * naming the setting instead of a server that half works: the `--db` value (scheme, folder),
 * the lock on a SQLite file (db-lock.ts), and that `--tls-cert` and `--tls-key` are a
 * readable certificate and the private key that belongs to it.
 */
import cluster from 'node:cluster';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from './config.js';
import { parseDbSetting } from './store/db-setting.js';

/**
 * Runs every check; throws an Error whose message is one line naming the setting. For a
 * SQLite `--db`, takes the lock, which the process keeps until it exits. A `--workers`
 * worker checks nothing: its primary did, and holds the lock for all of them.
 */
export async function checkStartup(config: Config): Promise<void> {
  if (cluster.isWorker) return;
  const setting = parseDbSetting(config.db);
  if (config.tlsCert !== null && config.tlsKey !== null) checkTls(config.tlsCert, config.tlsKey);
  if (setting.kind !== 'sqlite') return;
  prepareDbFolder(config.db, setting.path);
  const { acquireDbLock, DbLockedError } = await import('./db-lock.js');
  try {
    acquireDbLock(setting.path, { command: 'parley serve', port: config.port });
  } catch (error) {
    if (!(error instanceof DbLockedError)) throw error;
    throw new Error(`${error.message}: stop it first, or run several servers on one PostgreSQL database (README, Scaling out)`);
  }
}

/**
 * Makes sure the folder of a SQLite file exists. A missing folder is created only when its
 * parent exists and is not the filesystem root: `./data` on a first start, never a tree of
 * folders from a mistyped path, never a folder at `/`.
 */
export function prepareDbFolder(given: string, path: string, setting = '--db'): void {
  const file = resolve(path);
  const folder = dirname(file);
  const here = kindOf(file);
  if (here === 'folder') throw new Error(`${setting} ${given} is a folder, not a database file`);
  const folderKind = kindOf(folder);
  if (folderKind === 'folder') return;
  if (folderKind === 'other') throw new Error(`${setting} ${given}: ${folder} is not a folder`);
  const parent = dirname(folder);
  if (dirname(parent) === parent) {
    throw new Error(`${setting} ${given}: folder ${folder} does not exist (Parley creates no folder at the filesystem root; create it first)`);
  }
  if (kindOf(parent) !== 'folder') {
    throw new Error(`${setting} ${given}: folder ${folder} does not exist, nor does ${parent} (Parley creates only the last folder; create it first)`);
  }
  try {
    mkdirSync(folder);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw new Error(`${setting} ${given}: cannot create folder ${folder}: ${(error as Error).message}`);
  }
}

function kindOf(path: string): 'folder' | 'other' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'other';
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new Error(`cannot look at ${path}: ${(error as Error).message}`);
  }
}

/**
 * Reads both files and checks, with node:crypto, that the certificate parses, the key
 * parses, and the key is the certificate's. Says which file is wrong, and when the two are
 * swapped.
 */
export function checkTls(certFile: string, keyFile: string): void {
  const certPem = readSetting('--tls-cert', certFile);
  const keyPem = readSetting('--tls-key', keyFile);
  const cert = attempt(() => new X509Certificate(certPem));
  const key = attempt(() => createPrivateKey(keyPem));
  if (cert instanceof Error && key instanceof Error && isKey(certPem) && isCert(keyPem)) {
    throw new Error(`--tls-cert ${certFile} and --tls-key ${keyFile} are swapped: the first holds a private key, the second a certificate`);
  }
  if (cert instanceof Error) {
    if (isKey(certPem)) throw new Error(`--tls-cert ${certFile} holds a private key, not a certificate`);
    throw new Error(`--tls-cert ${certFile} is not a PEM certificate (${cert.message})`);
  }
  if (key instanceof Error) {
    if (isCert(keyPem)) throw new Error(`--tls-key ${keyFile} holds a certificate, not a private key`);
    if (/passphrase/i.test(key.message) || /ENCRYPTED/.test(keyPem.toString('latin1'))) {
      throw new Error(`--tls-key ${keyFile} is encrypted with a passphrase, which Parley cannot use: give an unencrypted key`);
    }
    throw new Error(`--tls-key ${keyFile} is not a PEM private key (${key.message})`);
  }
  if (!cert.checkPrivateKey(key as KeyObject)) {
    throw new Error(`--tls-key ${keyFile} does not match --tls-cert ${certFile}: it is not the private key of that certificate`);
  }
}

function readSetting(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new Error(`${flag} ${file} cannot be read: ${why}`);
  }
}

function attempt<T>(fn: () => T): T | Error {
  try {
    return fn();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function isKey(pem: Buffer): boolean {
  return /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(pem.toString('latin1'));
}

function isCert(pem: Buffer): boolean {
  return pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----');
}
