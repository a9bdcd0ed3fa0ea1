/**
 * A loopback stand-in for the CloudFormation reads the seeding function checks events with
 * (ListStackResources, GetTemplate, DescribeStacks; the query protocol, XML answers). It
 * plays the rehearsal's one stack: the resources it stood up, the seed resources with the
 * status CloudFormation shows while it sends each request, and the latest template.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface StandInResource {
  type: string;
  status: string;
  physicalId?: string;
}

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class CloudFormationStandIn {
  /** Resources by logical id. */
  readonly resources = new Map<string, StandInResource>();
  /** The latest template's resources, by logical id. */
  readonly templateResources = new Map<string, unknown>();
  stackStatus = 'CREATE_IN_PROGRESS';
  /** Calls served, by action. */
  readonly calls: Record<string, number> = {};
  private server?: http.Server;

  constructor(readonly stackId: string) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const params = new URLSearchParams(body);
        const action = params.get('Action') ?? '';
        this.calls[action] = (this.calls[action] ?? 0) + 1;
        const reply = (status: number, text: string) =>
          res.writeHead(status, { 'content-type': 'text/xml' }).end(`<?xml version="1.0"?>${text}`);
        const stack = params.get('StackName');
        if (stack !== this.stackId) {
          reply(
            400,
            `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xml(String(stack))} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
          );
          return;
        }
        const wrap = (inner: string) =>
          `<${action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`;
        if (action === 'ListStackResources') {
          const members = [...this.resources]
            .map(
              ([id, r]) =>
                `<member><LogicalResourceId>${xml(id)}</LogicalResourceId>${r.physicalId ? `<PhysicalResourceId>${xml(r.physicalId)}</PhysicalResourceId>` : ''}<ResourceType>${xml(r.type)}</ResourceType><ResourceStatus>${r.status}</ResourceStatus><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member>`,
            )
            .join('');
          reply(200, wrap(`<StackResourceSummaries>${members}</StackResourceSummaries>`));
          return;
        }
        if (action === 'GetTemplate') {
          const template = { Resources: Object.fromEntries(this.templateResources) };
          reply(200, wrap(`<TemplateBody>${xml(JSON.stringify(template))}</TemplateBody>`));
          return;
        }
        if (action === 'DescribeStacks') {
          reply(
            200,
            wrap(
              `<Stacks><member><StackName>rehearsal</StackName><StackId>${xml(this.stackId)}</StackId><StackStatus>${this.stackStatus}</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime></member></Stacks>`,
            ),
          );
          return;
        }
        reply(
          400,
          `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${xml(action)} is not served by the rehearsal</Message></Error></ErrorResponse>`,
        );
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
}
