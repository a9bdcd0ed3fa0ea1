/**
 * A minimal loopback stand-in for the read calls the handler makes outside Cognito:
 * Secrets Manager GetSecretValue and SSM GetParameter (AWS JSON 1.1), and S3 GetObject
 * (path-style, for users files). The harness fills it; nothing here ever reaches AWS.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export class AwsStandIn {
  /** Secret values by ARN (or name). */
  readonly secrets = new Map<string, string>();
  /** Parameter values by name. */
  readonly parameters = new Map<string, string>();
  /** S3 objects by `bucket/key`. */
  readonly objects = new Map<string, Buffer>();
  /** Calls served, by target, for reports. */
  readonly calls: Record<string, number> = {};
  private server?: http.Server;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () =>
        req.method === 'GET'
          ? this.getObject(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1)), res)
          : this.answer(String(req.headers['x-amz-target'] ?? ''), body, res),
      );
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

  private getObject(path: string, res: http.ServerResponse): void {
    this.calls['s3.GetObject'] = (this.calls['s3.GetObject'] ?? 0) + 1;
    const object = this.objects.get(path);
    if (!object) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': object.length }).end(object);
  }

  private answer(target: string, body: string, res: http.ServerResponse): void {
    this.calls[target] = (this.calls[target] ?? 0) + 1;
    const input = body ? JSON.parse(body) : {};
    const reply = (status: number, payload: object) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
    };
    const notFound = (what: string) =>
      reply(400, { __type: 'ResourceNotFoundException', message: `${what} not found in the rehearsal stand-in` });
    if (target === 'secretsmanager.GetSecretValue') {
      const value = this.secrets.get(input.SecretId);
      if (value === undefined) return notFound(`secret ${input.SecretId}`);
      return reply(200, { ARN: input.SecretId, Name: input.SecretId, SecretString: value, VersionId: 'rehearsal' });
    }
    if (target === 'AmazonSSM.GetParameter') {
      const value = this.parameters.get(input.Name);
      if (value === undefined)
        return reply(400, {
          __type: 'ParameterNotFound',
          message: `parameter ${input.Name} not found in the rehearsal stand-in`,
        });
      return reply(200, { Parameter: { Name: input.Name, Type: 'SecureString', Value: value, Version: 1 } });
    }
    reply(400, { __type: 'UnknownOperationException', message: `${target} is not served by the rehearsal stand-in` });
  }
}
