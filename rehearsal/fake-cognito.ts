/**
 * A minimal in-memory Cognito, for benchmarks at scales where cognito-local slows down
 * (its JSON store makes each write cost more as the pool grows) and for what cognito-local
 * cannot show: case-insensitive pools, email or phone usernames, `email_verified` reset on
 * an email change. It answers exactly the calls the handler and the harness make, with
 * Cognito's error names, on loopback.
 */
import * as crypto from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Emulator } from './emulator';

interface User {
  /** The pool's own username: as created, or the `sub` in email or phone username pools. */
  username: string;
  attributes: Map<string, string>;
  groups: Set<string>;
  status: string;
  /** False once AdminDisableUser ran (and until AdminEnableUser). */
  enabled?: boolean;
  created: number;
  modified: number;
}

interface Pool {
  id: string;
  name?: string;
  policy: unknown;
  schema: { Name: string }[];
  /** False when created with `UsernameConfiguration: { CaseSensitive: false }`. */
  caseSensitive: boolean;
  usernameConfiguration?: { CaseSensitive: boolean };
  /** `email` and/or `phone_number`: the username is one of them, and the real one is the `sub`. */
  usernameAttributes: string[];
  /** `email` and/or `phone_number` users may also sign in with, once verified. */
  aliasAttributes: string[];
  /** By the username as the pool compares it. */
  users: Map<string, User>;
  groups: Set<string>;
  preSignUp?: FakeTrigger;
}

class CognitoError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A Lambda trigger of a pool, played in the test's process: it receives the event Cognito
 * would send and returns its response, or throws to refuse (Cognito then answers the call
 * with UserLambdaValidationException "<Stage> failed with error <message>."). A
 * {@link TriggerTimeout} plays a trigger that did not answer in time.
 */
export type FakeTrigger = (event: TriggerEvent) => Record<string, unknown> | void;

/** What a trigger receives: Cognito's trigger event, as far as the fake plays it. */
export interface TriggerEvent {
  readonly version: string;
  readonly triggerSource: string;
  readonly region: string;
  readonly userPoolId: string;
  readonly userName: string;
  readonly callerContext: { readonly awsSdkVersion: string; readonly clientId: string | null };
  readonly request: {
    readonly userAttributes: Record<string, string>;
    readonly clientMetadata?: Record<string, string>;
    readonly validationData?: Record<string, string> | null;
  };
  readonly response: Record<string, unknown>;
}

/** Thrown by a {@link FakeTrigger} to play a trigger that timed out. */
export class TriggerTimeout extends Error {}

/** One call the fake answered: its target, and the ClientMetadata it carried (if any). */
export interface RecordedCall {
  readonly target: string;
  readonly username?: string;
  readonly clientMetadata?: Record<string, string>;
}

/** The fake, with what a test needs beyond an emulator. */
export interface FakeCognito extends Emulator {
  /** Sets (or, with undefined, removes) a pool's pre sign-up trigger, run on AdminCreateUser. */
  setPreSignUp(userPoolId: string, trigger: FakeTrigger | undefined): void;
  /** Every call answered so far, in order. */
  readonly calls: readonly RecordedCall[];
  /**
   * After `calls` more calls of `target` are answered, every request to the fake hangs
   * without effect (Cognito stops answering mid-run) until `resume()`.
   */
  stallAfter(target: string, calls: number): void;
  /** Answers again; the requests held by a stall are dropped, never applied. */
  resume(): void;
}

const STANDARD = [
  'sub',
  'email',
  'email_verified',
  'phone_number',
  'phone_number_verified',
  'given_name',
  'family_name',
  'name',
];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+[0-9]{4,15}$/;

/** A contact attribute and the flag Cognito clears when it changes. */
const VERIFIED_FLAG: Record<string, string> = { email: 'email_verified', phone_number: 'phone_number_verified' };

/** Attributes ListUsers can filter on, and where each lives. */
const FILTERABLE = new Set([
  'username',
  'email',
  'phone_number',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'sub',
  'status',
  'cognito:user_status',
]);

export async function startFakeCognito(): Promise<FakeCognito> {
  const pools = new Map<string, Pool>();
  let counter = 0;
  const pool = (id: string): Pool => {
    const p = pools.get(id);
    if (!p) throw new CognitoError('ResourceNotFoundException', 'User pool does not exist.');
    return p;
  };
  const keyOf = (p: Pool, username: string) => (p.caseSensitive ? username : username.toLowerCase());
  /** A user by its real username, or by its email or phone alias in alias pools. */
  const find = (p: Pool, name: string): User | undefined => {
    const direct = p.users.get(keyOf(p, String(name)));
    if (direct) return direct;
    for (const alias of p.usernameAttributes) {
      const wanted = String(name).toLowerCase();
      for (const u of p.users.values()) if (u.attributes.get(alias)?.toLowerCase() === wanted) return u;
    }
    return undefined;
  };
  const user = (p: Pool, name: string): User => {
    const u = find(p, name);
    if (!u) throw new CognitoError('UserNotFoundException', 'User does not exist.');
    return u;
  };
  const group = (p: Pool, name: string): string => {
    if (!p.groups.has(name)) throw new CognitoError('ResourceNotFoundException', 'Group not found.');
    return name;
  };
  const touch = (u: User) => (u.modified = Date.now());
  /**
   * An alias must name one user only: a username attribute always, a sign-in alias once
   * verified (`verified`: the write makes it verified).
   */
  const checkAlias = (p: Pool, u: User | undefined, name: string, value: string, verified = false) => {
    const username = p.usernameAttributes.includes(name);
    if (!username && !(verified && p.aliasAttributes.includes(name))) return;
    for (const other of p.users.values()) {
      if (other === u || other.attributes.get(name)?.toLowerCase() !== value.toLowerCase()) continue;
      if (username || other.attributes.get(VERIFIED_FLAG[name]) === 'true') {
        throw new CognitoError('AliasExistsException', `An account with the given ${name} already exists.`);
      }
    }
  };
  /** Runs a trigger as Cognito does, answering its refusal or time-out with Cognito's exception. */
  const runTrigger = (_p: Pool, stage: string, trigger: FakeTrigger, event: TriggerEvent) => {
    try {
      trigger(JSON.parse(JSON.stringify(event)) as TriggerEvent);
    } catch (error) {
      if (error instanceof TriggerTimeout) {
        throw new CognitoError('UnexpectedLambdaException', `${stage} invocation failed due to error TimeoutError.`);
      }
      throw new CognitoError(
        'UserLambdaValidationException',
        `${stage} failed with error ${(error as Error).message}.`,
      );
    }
  };
  const toAttributes = (u: User) => [...u.attributes].map(([Name, Value]) => ({ Name, Value }));
  const toUserType = (u: User) => ({
    Username: u.username,
    Attributes: toAttributes(u),
    UserStatus: u.status,
    Enabled: u.enabled !== false,
    UserCreateDate: u.created / 1000,
    UserLastModifiedDate: u.modified / 1000,
  });
  const matches = (p: Pool, u: User, filter: string | undefined): boolean => {
    if (!filter) return true;
    const parsed = /^\s*([\w:]+)\s*(\^?=)\s*"(.*)"\s*$/.exec(filter);
    if (!parsed || !FILTERABLE.has(parsed[1])) {
      throw new CognitoError('InvalidParameterException', `Invalid filter: ${filter}`);
    }
    const [, name, op, value] = parsed;
    const actual =
      name === 'username' ? u.username : name.endsWith('status') ? u.status : (u.attributes.get(name) ?? undefined);
    if (actual === undefined) return false;
    const fold = (v: string) => (name === 'username' && !p.caseSensitive ? v.toLowerCase() : v);
    return op === '=' ? fold(actual) === fold(value) : fold(actual).startsWith(fold(value));
  };

  // Requests are untyped JSON, as the wire carries them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const targets: Record<string, (i: any) => unknown> = {
    CreateUserPool: (i) => {
      const id = `us-east-1_fake${++counter}`;
      const schema = [
        ...STANDARD.map((Name) => ({ Name })),
        ...(i.Schema ?? []).map((a: { Name: string }) => ({ Name: `custom:${a.Name}` })),
      ];
      const usernameConfiguration =
        i.UsernameConfiguration?.CaseSensitive === undefined
          ? undefined
          : { CaseSensitive: Boolean(i.UsernameConfiguration.CaseSensitive) };
      pools.set(id, {
        id,
        name: i.PoolName,
        policy: i.Policies,
        schema,
        caseSensitive: usernameConfiguration?.CaseSensitive ?? true,
        usernameConfiguration,
        usernameAttributes: [...(i.UsernameAttributes ?? [])],
        aliasAttributes: [...(i.AliasAttributes ?? [])],
        users: new Map(),
        groups: new Set(),
      });
      return { UserPool: { Id: id, Name: i.PoolName } };
    },
    DescribeUserPool: (i) => {
      const p = pool(i.UserPoolId);
      return {
        UserPool: {
          Id: p.id,
          Name: p.name,
          Policies: p.policy,
          SchemaAttributes: p.schema,
          ...(p.usernameAttributes.length > 0 ? { UsernameAttributes: p.usernameAttributes } : {}),
          ...(p.aliasAttributes.length > 0 ? { AliasAttributes: p.aliasAttributes } : {}),
          ...(p.usernameConfiguration ? { UsernameConfiguration: p.usernameConfiguration } : {}),
          EstimatedNumberOfUsers: p.users.size,
        },
      };
    },
    CreateGroup: (i) => {
      const p = pool(i.UserPoolId);
      if (p.groups.has(i.GroupName)) throw new CognitoError('GroupExistsException', 'A group with the name exists.');
      p.groups.add(i.GroupName);
      return { Group: { GroupName: i.GroupName, UserPoolId: i.UserPoolId } };
    },
    GetGroup: (i) => ({ Group: { GroupName: group(pool(i.UserPoolId), i.GroupName), UserPoolId: i.UserPoolId } }),
    ListGroups: (i) => ({
      Groups: [...pool(i.UserPoolId).groups].map((GroupName) => ({ GroupName, UserPoolId: i.UserPoolId })),
    }),
    CreateUserPoolClient: (i) => ({ UserPoolClient: { ClientId: `client-${i.UserPoolId}` } }),
    AdminCreateUser: (i) => {
      const p = pool(i.UserPoolId);
      const given = String(i.Username ?? '');
      const attributes = new Map<string, string>();
      for (const a of i.UserAttributes ?? []) attributes.set(a.Name, a.Value);
      const sub = crypto.randomUUID();
      let username = given;
      if (p.usernameAttributes.length > 0) {
        // The username is an alias: the user's real username is its sub.
        const alias = p.usernameAttributes.find((a) => (a === 'email' ? EMAIL : PHONE).test(given));
        if (!alias) {
          throw new CognitoError(
            'InvalidParameterException',
            `Username should be ${p.usernameAttributes.map((a) => (a === 'email' ? 'an email' : 'a phone number')).join(' or ')}.`,
          );
        }
        const stated = attributes.get(alias);
        if (stated !== undefined && stated.toLowerCase() !== given.toLowerCase()) {
          throw new CognitoError('InvalidParameterException', `Username and ${alias} attribute differ.`);
        }
        if (find(p, given)) {
          throw new CognitoError('UsernameExistsException', `An account with the given ${alias} already exists.`);
        }
        attributes.set(alias, stated ?? given);
        username = sub;
      } else if (p.users.has(keyOf(p, given))) {
        throw new CognitoError('UsernameExistsException', 'User account already exists');
      }
      for (const [name, value] of attributes) {
        if (VERIFIED_FLAG[name]) checkAlias(p, undefined, name, value, attributes.get(VERIFIED_FLAG[name]) === 'true');
      }
      if (p.preSignUp) {
        runTrigger(p, 'PreSignUp', p.preSignUp, {
          version: '1',
          triggerSource: 'PreSignUp_AdminCreateUser',
          region: 'us-east-1',
          userPoolId: p.id,
          userName: given,
          callerContext: { awsSdkVersion: 'aws-sdk-js-3', clientId: null },
          // As Cognito's: the attributes given, the call's ClientMetadata; never the temporary password.
          request: {
            userAttributes: Object.fromEntries(attributes),
            validationData: null,
            ...(i.ClientMetadata ? { clientMetadata: { ...i.ClientMetadata } } : {}),
          },
          response: { autoConfirmUser: false, autoVerifyEmail: false, autoVerifyPhone: false },
        });
      }
      attributes.set('sub', sub);
      const now = Date.now();
      const u: User = {
        username,
        attributes,
        groups: new Set(),
        status: 'FORCE_CHANGE_PASSWORD',
        created: now,
        modified: now,
      };
      p.users.set(keyOf(p, username), u);
      return { User: toUserType(u) };
    },
    AdminSetUserPassword: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      u.status = i.Permanent ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD';
      touch(u);
      return {};
    },
    AdminResetUserPassword: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      u.status = 'RESET_REQUIRED';
      touch(u);
      return {};
    },
    AdminAddUserToGroup: (i) => {
      const p = pool(i.UserPoolId);
      const u = user(p, i.Username);
      u.groups.add(group(p, i.GroupName));
      touch(u);
      return {};
    },
    AdminRemoveUserFromGroup: (i) => {
      const p = pool(i.UserPoolId);
      const u = user(p, i.Username);
      u.groups.delete(group(p, i.GroupName));
      touch(u);
      return {};
    },
    AdminUpdateUserAttributes: (i) => {
      const p = pool(i.UserPoolId);
      const u = user(p, i.Username);
      const given = new Map<string, string>(
        (i.UserAttributes ?? []).map((a: { Name: string; Value: string }) => [a.Name, a.Value]),
      );
      for (const [name, value] of given) {
        if (name === 'sub')
          throw new CognitoError('InvalidParameterException', 'Cannot modify the non-mutable attribute sub');
        if (VERIFIED_FLAG[name]) checkAlias(p, u, name, value, given.get(VERIFIED_FLAG[name]) === 'true');
      }
      for (const [name, value] of given) {
        const flag = VERIFIED_FLAG[name];
        // As Cognito does: a changed email or phone is unverified unless this call says otherwise.
        if (flag && u.attributes.get(name) !== value && !given.has(flag)) u.attributes.set(flag, 'false');
        u.attributes.set(name, value);
      }
      touch(u);
      return {};
    },
    AdminDeleteUserAttributes: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      for (const name of i.UserAttributeNames) u.attributes.delete(name);
      touch(u);
      return {};
    },
    AdminDeleteUser: (i) => {
      const p = pool(i.UserPoolId);
      const u = user(p, i.Username);
      p.users.delete(keyOf(p, u.username));
      return {};
    },
    AdminGetUser: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      return {
        Username: u.username,
        UserAttributes: toAttributes(u),
        UserStatus: u.status,
        Enabled: u.enabled !== false,
        UserCreateDate: u.created / 1000,
        UserLastModifiedDate: u.modified / 1000,
      };
    },
    AdminDisableUser: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      u.enabled = false;
      touch(u);
      return {};
    },
    AdminEnableUser: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      u.enabled = true;
      touch(u);
      return {};
    },
    AdminListGroupsForUser: (i) => ({
      Groups: [...user(pool(i.UserPoolId), i.Username).groups].map((GroupName) => ({
        GroupName,
        UserPoolId: i.UserPoolId,
      })),
    }),
    ListUsers: (i) => {
      const p = pool(i.UserPoolId);
      const all = [...p.users.values()].filter((u) => matches(p, u, i.Filter));
      const limit = Math.min(Number(i.Limit ?? 60), 60);
      const start = Number(i.PaginationToken ?? 0);
      const page = all.slice(start, start + limit);
      return {
        Users: page.map(toUserType),
        PaginationToken: start + limit < all.length ? String(start + limit) : undefined,
      };
    },
  };

  const calls: RecordedCall[] = [];
  let stall: { target: string; calls: number } | undefined;
  let stalled = false;
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const target =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      if (stalled) {
        held.add(res);
        return;
      }
      const reply = (status: number, payload: unknown) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
      const handler = targets[target];
      if (!handler) {
        reply(400, { __type: 'UnknownOperationException', message: `${target} is not faked` });
        return;
      }
      const input = body ? JSON.parse(body) : {};
      calls.push({
        target,
        ...(input.Username !== undefined ? { username: String(input.Username) } : {}),
        ...(input.ClientMetadata !== undefined ? { clientMetadata: input.ClientMetadata } : {}),
      });
      try {
        reply(200, handler(input));
      } catch (error) {
        if (error instanceof CognitoError) reply(400, { __type: error.type, message: error.message });
        else reply(500, { __type: 'InternalErrorException', message: String(error) });
      }
      if (stall && stall.target === target && --stall.calls <= 0) {
        stall = undefined;
        stalled = true;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    directory: '',
    calls,
    setPreSignUp: (userPoolId, trigger) => {
      pool(userPoolId).preSignUp = trigger;
    },
    stallAfter: (target, calls) => {
      if (calls <= 0) stalled = true;
      else stall = { target, calls };
    },
    resume: () => {
      stalled = false;
      stall = undefined;
      for (const res of held) res.destroy();
      held.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        held.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
