/**
 * A minimal in-memory Cognito for benchmarks at scales where cognito-local slows down
 * (its JSON store makes each write cost more as the pool grows). It answers exactly the
 * calls the handler and the harness make, with Cognito's error names, on loopback.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Emulator } from './emulator';

interface User {
  attributes: Map<string, string>;
  groups: Set<string>;
  status: string;
  created: number;
}

interface Pool {
  id: string;
  policy: unknown;
  schema: { Name: string }[];
  users: Map<string, User>;
  groups: Set<string>;
}

class CognitoError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
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

export async function startFakeCognito(): Promise<Emulator> {
  const pools = new Map<string, Pool>();
  let counter = 0;
  const pool = (id: string): Pool => {
    const p = pools.get(id);
    if (!p) throw new CognitoError('ResourceNotFoundException', 'User pool does not exist.');
    return p;
  };
  const user = (p: Pool, name: string): User => {
    const u = p.users.get(name);
    if (!u) throw new CognitoError('UserNotFoundException', 'User does not exist.');
    return u;
  };
  const toAttributes = (u: User) => [...u.attributes].map(([Name, Value]) => ({ Name, Value }));
  // Requests are untyped JSON, as the wire carries them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const targets: Record<string, (i: any) => unknown> = {
    CreateUserPool: (i) => {
      const id = `us-east-1_fake${++counter}`;
      const schema = [
        ...STANDARD.map((Name) => ({ Name })),
        ...(i.Schema ?? []).map((a: { Name: string }) => ({ Name: `custom:${a.Name}` })),
      ];
      pools.set(id, { id, policy: i.Policies, schema, users: new Map(), groups: new Set() });
      return { UserPool: { Id: id } };
    },
    DescribeUserPool: (i) => ({
      UserPool: { Id: i.UserPoolId, Policies: pool(i.UserPoolId).policy, SchemaAttributes: pool(i.UserPoolId).schema },
    }),
    CreateGroup: (i) => (pool(i.UserPoolId).groups.add(i.GroupName), { Group: { GroupName: i.GroupName } }),
    GetGroup: (i) => {
      if (!pool(i.UserPoolId).groups.has(i.GroupName))
        throw new CognitoError('ResourceNotFoundException', 'Group not found.');
      return { Group: { GroupName: i.GroupName } };
    },
    CreateUserPoolClient: (i) => ({ UserPoolClient: { ClientId: `client-${i.UserPoolId}` } }),
    AdminCreateUser: (i) => {
      const p = pool(i.UserPoolId);
      if (p.users.has(i.Username)) throw new CognitoError('UsernameExistsException', 'User account already exists');
      const attributes = new Map<string, string>([['sub', `sub-${++counter}`]]);
      for (const a of i.UserAttributes ?? []) attributes.set(a.Name, a.Value);
      p.users.set(i.Username, { attributes, groups: new Set(), status: 'FORCE_CHANGE_PASSWORD', created: Date.now() });
      return { User: { Username: i.Username } };
    },
    AdminSetUserPassword: (i) => (
      (user(pool(i.UserPoolId), i.Username).status = i.Permanent ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD'),
      {}
    ),
    AdminResetUserPassword: (i) => ((user(pool(i.UserPoolId), i.Username).status = 'RESET_REQUIRED'), {}),
    AdminAddUserToGroup: (i) => (user(pool(i.UserPoolId), i.Username).groups.add(i.GroupName), {}),
    AdminRemoveUserFromGroup: (i) => (user(pool(i.UserPoolId), i.Username).groups.delete(i.GroupName), {}),
    AdminUpdateUserAttributes: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      for (const a of i.UserAttributes) u.attributes.set(a.Name, a.Value);
      return {};
    },
    AdminDeleteUserAttributes: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      for (const name of i.UserAttributeNames) u.attributes.delete(name);
      return {};
    },
    AdminDeleteUser: (i) => {
      user(pool(i.UserPoolId), i.Username);
      pool(i.UserPoolId).users.delete(i.Username);
      return {};
    },
    AdminGetUser: (i) => {
      const u = user(pool(i.UserPoolId), i.Username);
      return {
        Username: i.Username,
        UserAttributes: toAttributes(u),
        UserStatus: u.status,
        UserCreateDate: u.created / 1000,
      };
    },
    AdminListGroupsForUser: (i) => ({
      Groups: [...user(pool(i.UserPoolId), i.Username).groups].map((GroupName) => ({ GroupName })),
    }),
    ListUsers: (i) => {
      const all = [...pool(i.UserPoolId).users];
      const start = Number(i.PaginationToken ?? 0);
      const page = all.slice(start, start + 60);
      return {
        Users: page.map(([Username, u]) => ({ Username, UserStatus: u.status, Attributes: toAttributes(u) })),
        PaginationToken: start + 60 < all.length ? String(start + 60) : undefined,
      };
    },
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const target =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      const reply = (status: number, payload: unknown) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
      const handler = targets[target];
      if (!handler) {
        reply(400, { __type: 'UnknownOperationException', message: `${target} is not faked` });
        return;
      }
      try {
        reply(200, handler(body ? JSON.parse(body) : {}));
      } catch (error) {
        if (error instanceof CognitoError) reply(400, { __type: error.type, message: error.message });
        else reply(500, { __type: 'InternalErrorException', message: String(error) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    directory: '',
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
