/**
 * A loopback ResponseURL: records every PUT the handler makes, as CloudFormation's
 * pre-signed S3 URL would. `failFirst` answers the first N PUTs with HTTP 500.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface CfnResponseBody {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

export class ResponseServer {
  readonly bodies: CfnResponseBody[] = [];
  readonly raw: string[] = [];
  failFirst = 0;
  /** Hold each successful PUT this long before taking it (a slow network). */
  delayMs = 0;
  private server?: http.Server;
  private attempts = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.attempts++;
        if (this.attempts <= this.failFirst) {
          res.writeHead(500).end();
          return;
        }
        const take = () => {
          this.raw.push(body);
          this.bodies.push(JSON.parse(body));
          res.writeHead(200).end();
        };
        if (this.delayMs > 0) setTimeout(take, this.delayMs);
        else take();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  /** A URL shaped like a pre-signed S3 URL, carrying canaries that must never be printed. */
  get url(): string {
    const port = (this.server!.address() as AddressInfo).port;
    return `http://127.0.0.1:${port}/cloudformation-custom-resource-response/RESPONSE-URL-CANARY?X-Amz-Signature=SIG-CANARY-0123`;
  }

  get last(): CfnResponseBody {
    return this.bodies[this.bodies.length - 1];
  }

  reset(): void {
    this.bodies.length = 0;
    this.raw.length = 0;
    this.attempts = 0;
    this.failFirst = 0;
    this.delayMs = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}
