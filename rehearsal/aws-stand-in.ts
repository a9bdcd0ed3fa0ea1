/**
 * A minimal loopback stand-in for the calls the handler and the testing module make outside
 * Cognito and the ledger: Secrets Manager GetSecretValue, PutSecretValue, CreateSecret,
 * DeleteSecret, RestoreSecret, and a rotation's DescribeSecret and UpdateSecretVersionStage
 * (versions by id and stage), SSM GetParameter
 * and GetParametersByPath (AWS JSON 1.1), S3 GetObject
 * (path-style, for users files), and Lambda's asynchronous Invoke (a request continuing in
 * a fresh invocation). The harness fills it; nothing here ever reaches AWS.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export class AwsStandIn {
  /** Secret values by ARN (or name). */
  readonly secrets = new Map<string, string>();
  /** Parameter values by name. */
  readonly parameters = new Map<string, string>();
  /** The type of a parameter when it is not `SecureString` (e.g. a manifest pointer, `String`). */
  readonly parameterTypes = new Map<string, string>();
  /** Secrets made with CreateSecret (the per-user TOTP secrets), by name: how they were made. */
  readonly createdSecrets = new Map<string, { readonly description?: string; readonly kmsKeyId?: string }>();
  /** Secrets (by the id a caller names them with) every call on which is denied, as IAM would. */
  readonly deniedSecrets = new Set<string>();
  /**
   * A rotation under way, by secret: the new version's token (`AWSPENDING`) and, once its
   * `createSecret` step stored one, its value. `UpdateSecretVersionStage` makes it current.
   */
  readonly pendingVersions = new Map<string, { readonly token: string; value?: string }>();
  /** A secret's current version id, once a rotation made one current (else `rehearsal-<n>`). */
  readonly currentVersionIds = new Map<string, string>();
  /**
   * The version a rotation moved `AWSCURRENT` away from, labelled `AWSPREVIOUS` as Secrets
   * Manager keeps it, with its value: `UpdateSecretVersionStage` can move `AWSCURRENT` back
   * onto it (a rollback).
   */
  readonly previousVersions = new Map<string, { readonly token: string; readonly value: string }>();
  /** How many times each secret was written (PutSecretValue): its version number. */
  readonly secretVersions = new Map<string, number>();
  /** Each parameter's version: 1, and one more per change. */
  readonly parameterVersions = new Map<string, number>();
  /** S3 objects by `bucket/key`. */
  readonly objects = new Map<string, Buffer>();
  /** Calls served, by target, for reports. */
  readonly calls: Record<string, number> = {};
  /**
   * Runs a Lambda Invoke of `functionName` (a name or an ARN) with `payload`: resolves with
   * what the function returned, or rejects with the type of the error it threw.
   */
  onInvoke?: (functionName: string, payload: string) => Promise<unknown>;
  private server?: http.Server;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
        if (req.method === 'POST' && invoke) {
          return this.invoke(
            decodeURIComponent(invoke[1]),
            body,
            res,
            String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse'),
          );
        }
        if (req.method === 'GET') return this.getObject(decodeURIComponent(url.pathname.slice(1)), res);
        this.answer(String(req.headers['x-amz-target'] ?? ''), body, res);
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

  /**
   * Lambda's Invoke: an `Event` invocation is accepted (202) at once and runs on; a
   * `RequestResponse` one answers with what the function returned (200), or with its
   * error's type in X-Amz-Function-Error, as Lambda does.
   */
  private invoke(functionName: string, payload: string, res: http.ServerResponse, type: string): void {
    this.calls['lambda.Invoke'] = (this.calls['lambda.Invoke'] ?? 0) + 1;
    if (!this.onInvoke) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ Type: 'User', message: 'no function' }));
      return;
    }
    const running = this.onInvoke(functionName, payload);
    if (type === 'Event') {
      running.catch(() => undefined);
      res.writeHead(202, { 'content-type': 'application/json' }).end();
      return;
    }
    running.then(
      (result) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result ?? null)),
      (error: Error) =>
        res
          .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
          .end(JSON.stringify({ errorType: error.name, errorMessage: error.message })),
    );
  }

  private getObject(path: string, res: http.ServerResponse): void {
    this.calls['s3.GetObject'] = (this.calls['s3.GetObject'] ?? 0) + 1;
    const object = this.objects.get(path);
    if (!object) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': object.length }).end(object);
  }

  /** A new value for a secret, as PutSecretValue or a rotation gives it: a new version. */
  putSecretValue(secretId: string, value: string): void {
    this.secrets.set(secretId, value);
    this.secretVersions.set(secretId, (this.secretVersions.get(secretId) ?? 0) + 1);
    this.currentVersionIds.delete(secretId);
  }

  /** What RotateSecret does before it invokes the rotation function: a new version, `AWSPENDING`, with no value. */
  startRotation(secretId: string, token: string): void {
    this.pendingVersions.set(secretId, { token });
  }

  /** A new value for a parameter, as PutParameter with Overwrite gives it: a new version. */
  putParameter(name: string, value: string): void {
    this.parameters.set(name, value);
    this.parameterVersions.set(name, (this.parameterVersions.get(name) ?? 1) + 1);
  }

  private answer(target: string, body: string, res: http.ServerResponse): void {
    this.calls[target] = (this.calls[target] ?? 0) + 1;
    const input = body ? JSON.parse(body) : {};
    const reply = (status: number, payload: object) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
    };
    const notFound = (what: string) =>
      reply(400, { __type: 'ResourceNotFoundException', message: `${what} not found in the rehearsal stand-in` });
    const version = (id: string) => this.currentVersionIds.get(id) ?? `rehearsal-${this.secretVersions.get(id) ?? 0}`;
    const pending = this.pendingVersions.get(input.SecretId);
    const previous = this.previousVersions.get(input.SecretId);
    if (target === 'secretsmanager.DescribeSecret') {
      if (!this.secrets.has(input.SecretId)) return notFound(`secret ${input.SecretId}`);
      return reply(200, {
        ARN: input.SecretId,
        Name: input.SecretId,
        VersionIdsToStages: {
          ...(previous ? { [previous.token]: ['AWSPREVIOUS'] } : {}),
          [version(input.SecretId)]: ['AWSCURRENT'],
          ...(pending ? { [pending.token]: ['AWSPENDING'] } : {}),
        },
      });
    }
    if (target === 'secretsmanager.GetSecretValue' && previous && input.VersionId === previous.token) {
      return reply(200, {
        ARN: input.SecretId,
        Name: input.SecretId,
        SecretString: previous.value,
        VersionId: previous.token,
      });
    }
    if (target === 'secretsmanager.GetSecretValue' && (input.VersionId || input.VersionStage === 'AWSPENDING')) {
      const current = input.VersionId === undefined || input.VersionId === version(input.SecretId);
      if (current && input.VersionStage !== 'AWSPENDING') {
        // the current version, named by its id: served below
      } else if (pending && pending.value !== undefined && (input.VersionId ?? pending.token) === pending.token) {
        return reply(200, {
          ARN: input.SecretId,
          Name: input.SecretId,
          SecretString: pending.value,
          VersionId: pending.token,
        });
      } else {
        return notFound(`version ${input.VersionId ?? input.VersionStage} of secret ${input.SecretId}`);
      }
    }
    if (target === 'secretsmanager.PutSecretValue' && (input.VersionStages ?? []).includes('AWSPENDING')) {
      if (!pending || pending.token !== input.ClientRequestToken) {
        return reply(400, { __type: 'InvalidRequestException', message: 'no rotation of this version is under way' });
      }
      pending.value = String(input.SecretString);
      return reply(200, { ARN: input.SecretId, Name: input.SecretId, VersionId: pending.token });
    }
    if (
      target === 'secretsmanager.UpdateSecretVersionStage' &&
      input.VersionStage === 'AWSCURRENT' &&
      previous &&
      input.MoveToVersionId === previous.token &&
      input.RemoveFromVersionId === version(input.SecretId)
    ) {
      // A rollback: the previous version is current again, and the one it replaced previous.
      this.previousVersions.set(input.SecretId, {
        token: version(input.SecretId),
        value: this.secrets.get(input.SecretId) ?? '',
      });
      this.secrets.set(input.SecretId, previous.value);
      this.currentVersionIds.set(input.SecretId, previous.token);
      return reply(200, { ARN: input.SecretId, Name: input.SecretId });
    }
    if (target === 'secretsmanager.UpdateSecretVersionStage') {
      if (input.VersionStage !== 'AWSCURRENT' || !pending || pending.token !== input.MoveToVersionId) {
        return reply(400, {
          __type: 'InvalidRequestException',
          message: 'the stand-in moves AWSCURRENT to a pending version only',
        });
      }
      if (input.RemoveFromVersionId !== version(input.SecretId)) {
        return reply(400, {
          __type: 'InvalidParameterException',
          message: 'RemoveFromVersionId is not the current version',
        });
      }
      if (pending.value === undefined) {
        return reply(400, { __type: 'InvalidRequestException', message: 'the pending version has no value' });
      }
      this.previousVersions.set(input.SecretId, {
        token: version(input.SecretId),
        value: this.secrets.get(input.SecretId) ?? '',
      });
      this.secrets.set(input.SecretId, pending.value);
      this.currentVersionIds.set(input.SecretId, pending.token);
      this.pendingVersions.delete(input.SecretId);
      return reply(200, { ARN: input.SecretId, Name: input.SecretId });
    }
    if (target.startsWith('secretsmanager.') && this.deniedSecrets.has(input.SecretId ?? input.Name)) {
      return reply(400, {
        __type: 'AccessDeniedException',
        message: `not authorized to perform: ${target.replace('secretsmanager.', 'secretsmanager:')} on resource: ${input.SecretId ?? input.Name} (the rehearsal stand-in denies it)`,
      });
    }
    if (target === 'secretsmanager.CreateSecret') {
      if (this.secrets.has(input.Name)) {
        return reply(400, { __type: 'ResourceExistsException', message: `The secret ${input.Name} already exists.` });
      }
      this.secrets.set(input.Name, String(input.SecretString));
      this.secretVersions.set(input.Name, 1);
      this.createdSecrets.set(input.Name, { description: input.Description, kmsKeyId: input.KmsKeyId });
      return reply(200, { ARN: `${input.Name}-AbCdEf`, Name: input.Name, VersionId: version(input.Name) });
    }
    if (target === 'secretsmanager.DeleteSecret') {
      if (!this.secrets.has(input.SecretId)) return notFound(`secret ${input.SecretId}`);
      // Deleted at once: the function deletes these with ForceDeleteWithoutRecovery.
      this.secrets.delete(input.SecretId);
      this.createdSecrets.delete(input.SecretId);
      return reply(200, { ARN: input.SecretId, Name: input.SecretId });
    }
    if (target === 'secretsmanager.RestoreSecret') {
      if (!this.secrets.has(input.SecretId)) return notFound(`secret ${input.SecretId}`);
      return reply(200, { ARN: input.SecretId, Name: input.SecretId });
    }
    if (target === 'secretsmanager.GetSecretValue') {
      const value = this.secrets.get(input.SecretId);
      if (value === undefined) return notFound(`secret ${input.SecretId}`);
      return reply(200, {
        ARN: input.SecretId,
        Name: input.SecretId,
        SecretString: value,
        VersionId: version(input.SecretId),
      });
    }
    if (target === 'secretsmanager.PutSecretValue') {
      if (!this.secrets.has(input.SecretId)) return notFound(`secret ${input.SecretId}`);
      this.secrets.set(input.SecretId, String(input.SecretString));
      this.secretVersions.set(input.SecretId, (this.secretVersions.get(input.SecretId) ?? 0) + 1);
      this.currentVersionIds.delete(input.SecretId);
      return reply(200, { ARN: input.SecretId, Name: input.SecretId, VersionId: version(input.SecretId) });
    }
    const parameter = (name: string) => ({
      Name: name,
      Type: this.parameterTypes.get(name) ?? 'SecureString',
      Value: this.parameters.get(name),
      Version: this.parameterVersions.get(name) ?? 1,
    });
    if (target === 'AmazonSSM.GetParameter') {
      if (!this.parameters.has(input.Name))
        return reply(400, {
          __type: 'ParameterNotFound',
          message: `parameter ${input.Name} not found in the rehearsal stand-in`,
        });
      return reply(200, { Parameter: parameter(input.Name) });
    }
    if (target === 'AmazonSSM.GetParametersByPath') {
      const path = String(input.Path).replace(/\/$/, '') + '/';
      const names = [...this.parameters.keys()]
        .filter((name) => name.startsWith(path) && (input.Recursive || !name.slice(path.length).includes('/')))
        .sort();
      return reply(200, { Parameters: names.map(parameter) });
    }
    reply(400, { __type: 'UnknownOperationException', message: `${target} is not served by the rehearsal stand-in` });
  }
}
