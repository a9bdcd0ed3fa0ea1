// A test double of Cognito's public sign-in API (InitiateAuth, RespondToAuthChallenge) on a
// loopback port, for what cognito-local does not implement: USER_SRP_AUTH. Its server side
// of SRP-6a is written here from Cognito's published parameters, independently of the
// client library under test: the 3072-bit group of RFC 3526 (N) with g = 2, k = H(N | g),
// the verifier v = g^x with x = H(salt | H(poolId-suffix | username | ":" | password)),
// the shared key S = (A * v^u)^b, HKDF-SHA256 (Node's own) over S with salt u and info
// "Caldera Derived Key", 16 bytes, and the PASSWORD_VERIFIER signature
// HMAC-SHA256(key, poolId-suffix | username | secret block | timestamp). A client that
// computes any of it wrongly is refused, as Cognito would refuse it.
//
// It also refuses a flow the app client does not allow (with Cognito's messages), asks
// NEW_PASSWORD_REQUIRED of temporary users and SOFTWARE_TOKEN_MFA of users with a TOTP
// secret, and, like Cognito, accepts each TOTP code of a user only once. It serves
// GetTokensFromRefreshToken (what Amplify JS v6 refreshes with) for a refresh token it
// issued, to the app client it issued it to only.
import { createHash, createHmac, hkdfSync, randomBytes, randomUUID, timingSafeEqual } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

const N = BigInt(
  '0x' +
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
    'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F' +
    '83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
    'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510' +
    '15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7' +
    'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C' +
    'BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF',
);
const g = 2n;

/** The big-endian two's-complement hex of a non-negative integer, as Java's BigInteger.toByteArray gives it. */
function padHex(n: bigint): string {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return /^[89a-f]/i.test(hex) ? `00${hex}` : hex;
}

function sha256(...parts: Buffer[]): Buffer {
  return createHash('sha256').update(Buffer.concat(parts)).digest();
}

function toBigInt(bytes: Buffer): bigint {
  return BigInt(`0x${bytes.toString('hex') || '0'}`);
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

const k = toBigInt(sha256(Buffer.from(padHex(N) + padHex(g), 'hex')));

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), from Node's HMAC: independent of the module's otpauth. */
function totp(base32: string, window: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(window));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

interface DoubleUser {
  /** The user's `sub`, in its tokens as Cognito puts it there. */
  readonly sub: string;
  salt: Buffer;
  verifier: bigint;
  password: string;
  status: 'CONFIRMED' | 'FORCE_CHANGE_PASSWORD';
  totpSecret?: string;
  usedWindows: Set<number>;
}

interface SrpState {
  readonly username: string;
  readonly A: bigint;
  readonly B: bigint;
  readonly b: bigint;
}

class CognitoError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class SrpDouble {
  /** Counts, for assertions: signatures that checked out, and those refused. */
  readonly counts = { verified: 0, refused: 0, totpAccepted: 0, totpRefused: 0, refreshed: 0 };
  private readonly users = new Map<string, DoubleUser>();
  private readonly clients = new Map<string, readonly string[]>();
  private readonly srp = new Map<string, SrpState>();
  private readonly sessions = new Map<string, { username: string; challenge: string }>();
  private readonly refreshTokens = new Map<string, { username: string; clientId: string }>();
  private server?: http.Server;

  /** `userPoolId` is `<region>_<suffix>`: the suffix goes into x and the signature. */
  constructor(readonly userPoolId: string) {}

  private get poolSuffix(): string {
    return this.userPoolId.split('_')[1];
  }

  /** An app client and the ExplicitAuthFlows it allows. */
  addClient(clientId: string, flows: readonly string[]): void {
    this.clients.set(clientId, flows);
  }

  /** A user with `password`: CONFIRMED, or FORCE_CHANGE_PASSWORD when temporary; with a TOTP secret if given. */
  addUser(username: string, password: string, options: { temporary?: boolean; totpSecret?: string } = {}): void {
    this.users.set(username, {
      sub: randomUUID(),
      ...this.verifierFor(username, password),
      password,
      status: options.temporary ? 'FORCE_CHANGE_PASSWORD' : 'CONFIRMED',
      totpSecret: options.totpSecret,
      usedWindows: new Set(),
    });
  }

  /** The user's `sub`. */
  sub(username: string): string | undefined {
    return this.users.get(username)?.sub;
  }

  /** The user's status, as AdminGetUser would show it. */
  status(username: string): string | undefined {
    return this.users.get(username)?.status;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '').split('.')[1];
        const reply = (status: number, payload: object): void => {
          // Connection: close. A client that computes SRP for longer than Node's 5 s keep-alive
          // (Amplify's, on a loaded CI machine) would otherwise send its answer down a socket
          // the double has just closed, and fail with ECONNRESET.
          res
            .writeHead(status, { 'content-type': 'application/x-amz-json-1.1', connection: 'close' })
            .end(JSON.stringify(payload));
        };
        try {
          const input = JSON.parse(body || '{}');
          if (target === 'InitiateAuth') reply(200, this.initiateAuth(input));
          else if (target === 'RespondToAuthChallenge') reply(200, this.respond(input));
          else if (target === 'GetTokensFromRefreshToken') reply(200, this.refresh(input));
          else throw new CognitoError('UnknownOperationException', `${target} is not served by the SRP double`);
        } catch (error) {
          const e = error instanceof CognitoError ? error : new CognitoError('InternalErrorException', String(error));
          reply(400, { __type: e.type, message: e.message });
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  private verifierFor(username: string, password: string): { salt: Buffer; verifier: bigint } {
    const salt = randomBytes(16);
    const inner = createHash('sha256').update(`${this.poolSuffix}${username}:${password}`, 'utf8').digest();
    const x = toBigInt(sha256(Buffer.from(padHex(toBigInt(salt)), 'hex'), inner));
    return { salt, verifier: modPow(g, x, N) };
  }

  private client(clientId: string, flow: string): void {
    const flows = this.clients.get(clientId);
    if (!flows) throw new CognitoError('ResourceNotFoundException', 'User pool client does not exist.');
    if (!flows.includes(`ALLOW_${flow}`)) {
      throw new CognitoError(
        'InvalidParameterException',
        flow === 'USER_SRP_AUTH'
          ? 'USER_SRP_AUTH is not enabled for the client.'
          : `${flow} flow not enabled for this client`,
      );
    }
  }

  private user(username: string): DoubleUser {
    const user = this.users.get(username);
    if (!user) throw new CognitoError('NotAuthorizedException', 'Incorrect username or password.');
    return user;
  }

  private initiateAuth(input: { ClientId: string; AuthFlow: string; AuthParameters: Record<string, string> }) {
    this.client(input.ClientId, input.AuthFlow);
    const username = input.AuthParameters.USERNAME;
    const user = this.user(username);
    if (input.AuthFlow === 'USER_PASSWORD_AUTH') {
      if (input.AuthParameters.PASSWORD !== user.password) {
        throw new CognitoError('NotAuthorizedException', 'Incorrect username or password.');
      }
      return this.afterPassword(input.ClientId, username);
    }
    if (input.AuthFlow !== 'USER_SRP_AUTH') throw new CognitoError('InvalidParameterException', 'Unsupported flow');
    const A = BigInt(`0x${input.AuthParameters.SRP_A ?? '0'}`);
    if (A % N === 0n) throw new CognitoError('InvalidParameterException', 'Invalid SRP_A');
    const b = toBigInt(randomBytes(128));
    const B = (k * user.verifier + modPow(g, b, N)) % N;
    const secretBlock = randomBytes(64).toString('base64');
    this.srp.set(secretBlock, { username, A, B, b });
    return {
      ChallengeName: 'PASSWORD_VERIFIER',
      ChallengeParameters: {
        SALT: toBigInt(user.salt).toString(16),
        SRP_B: B.toString(16),
        SECRET_BLOCK: secretBlock,
        USER_ID_FOR_SRP: username,
        USERNAME: username,
      },
    };
  }

  private respond(input: {
    ClientId: string;
    ChallengeName: string;
    Session?: string;
    ChallengeResponses: Record<string, string>;
  }) {
    const r = input.ChallengeResponses;
    if (input.ChallengeName === 'PASSWORD_VERIFIER') {
      const state = this.srp.get(r.PASSWORD_CLAIM_SECRET_BLOCK);
      this.srp.delete(r.PASSWORD_CLAIM_SECRET_BLOCK);
      if (!state || state.username !== r.USERNAME) throw new CognitoError('NotAuthorizedException', 'Invalid session');
      this.checkTimestamp(r.TIMESTAMP);
      const user = this.user(state.username);
      const u = toBigInt(sha256(Buffer.from(padHex(state.A) + padHex(state.B), 'hex')));
      if (u === 0n) throw new CognitoError('NotAuthorizedException', 'Invalid u');
      const S = modPow((state.A * modPow(user.verifier, u, N)) % N, state.b, N);
      const key = Buffer.from(
        hkdfSync('sha256', Buffer.from(padHex(S), 'hex'), Buffer.from(padHex(u), 'hex'), 'Caldera Derived Key', 16),
      );
      const expected = createHmac('sha256', key)
        .update(
          Buffer.concat([
            Buffer.from(this.poolSuffix, 'utf8'),
            Buffer.from(state.username, 'utf8'),
            Buffer.from(r.PASSWORD_CLAIM_SECRET_BLOCK, 'base64'),
            Buffer.from(r.TIMESTAMP, 'utf8'),
          ]),
        )
        .digest();
      const given = Buffer.from(r.PASSWORD_CLAIM_SIGNATURE ?? '', 'base64');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        this.counts.refused++;
        throw new CognitoError('NotAuthorizedException', 'Incorrect username or password.');
      }
      this.counts.verified++;
      return this.afterPassword(input.ClientId, state.username);
    }
    const session = input.Session ? this.sessions.get(input.Session) : undefined;
    if (!session || session.challenge !== input.ChallengeName || session.username !== r.USERNAME) {
      throw new CognitoError('NotAuthorizedException', 'Invalid session for the user.');
    }
    this.sessions.delete(input.Session!);
    const user = this.user(session.username);
    if (input.ChallengeName === 'NEW_PASSWORD_REQUIRED') {
      Object.assign(user, this.verifierFor(session.username, r.NEW_PASSWORD), {
        password: r.NEW_PASSWORD,
        status: 'CONFIRMED',
      });
      return this.afterNewPassword(input.ClientId, session.username);
    }
    if (input.ChallengeName === 'SOFTWARE_TOKEN_MFA') {
      const window = Math.floor(Date.now() / 30_000);
      const match = [window, window - 1].find((w) => totp(user.totpSecret!, w) === r.SOFTWARE_TOKEN_MFA_CODE);
      if (match === undefined || user.usedWindows.has(match)) {
        this.counts.totpRefused++;
        throw new CognitoError('CodeMismatchException', 'Invalid code received for user');
      }
      user.usedWindows.add(match);
      this.counts.totpAccepted++;
      return this.tokens(input.ClientId, session.username);
    }
    throw new CognitoError('InvalidParameterException', `Unsupported challenge ${input.ChallengeName}`);
  }

  /** Cognito's format, e.g. "Tue Jan 2 03:04:05 UTC 2024" (day not zero-padded), within five minutes. */
  private checkTimestamp(timestamp: string | undefined): void {
    const match = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (\w{3}) ([1-9]|[12]\d|3[01]) (\d{2}:\d{2}:\d{2}) UTC (\d{4})$/.exec(
      timestamp ?? '',
    );
    const at = match ? Date.parse(`${match[3]} ${match[2]} ${match[5]} ${match[4]} GMT`) : NaN;
    if (!match || Number.isNaN(at) || Math.abs(at - Date.now()) > 5 * 60_000) {
      throw new CognitoError('NotAuthorizedException', 'Invalid timestamp');
    }
  }

  private afterPassword(clientId: string, username: string) {
    const user = this.user(username);
    if (user.status === 'FORCE_CHANGE_PASSWORD') {
      return this.challenge('NEW_PASSWORD_REQUIRED', username, { requiredAttributes: '[]', userAttributes: '{}' });
    }
    return this.afterNewPassword(clientId, username);
  }

  private afterNewPassword(clientId: string, username: string) {
    if (this.user(username).totpSecret) return this.challenge('SOFTWARE_TOKEN_MFA', username, {});
    return this.tokens(clientId, username);
  }

  private challenge(name: string, username: string, parameters: Record<string, string>) {
    const session = randomBytes(16).toString('hex');
    this.sessions.set(session, { username, challenge: name });
    return { ChallengeName: name, Session: session, ChallengeParameters: { USER_ID_FOR_SRP: username, ...parameters } };
  }

  /** New id and access tokens for a refresh token this double issued to this client. */
  private refresh(input: { ClientId: string; RefreshToken: string }) {
    const holder = this.refreshTokens.get(input.RefreshToken);
    if (!holder || holder.clientId !== input.ClientId) {
      throw new CognitoError('NotAuthorizedException', 'Invalid Refresh Token');
    }
    this.counts.refreshed++;
    // Without refresh-token rotation, Cognito returns no new refresh token.
    const { AuthenticationResult } = this.tokens(input.ClientId, holder.username);
    return { AuthenticationResult: { ...AuthenticationResult, RefreshToken: undefined } };
  }

  private tokens(clientId: string, username: string) {
    const iat = Math.floor(Date.now() / 1000);
    const sub = this.user(username).sub;
    const jwt = (claims: object) =>
      [{ alg: 'none' }, { ...claims, sub, iat, exp: iat + 3600, client_id: clientId, jti: randomUUID() }]
        .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
        .join('.') + '.';
    const refreshToken = randomBytes(32).toString('hex');
    this.refreshTokens.set(refreshToken, { username, clientId });
    return {
      ChallengeParameters: {},
      AuthenticationResult: {
        IdToken: jwt({ 'cognito:username': username, token_use: 'id', aud: clientId }),
        AccessToken: jwt({ username, token_use: 'access' }),
        RefreshToken: refreshToken,
        ExpiresIn: 3600,
        TokenType: 'Bearer',
      },
    };
  }
}
