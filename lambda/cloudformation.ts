/**
 * What the function reads of its own stack, to check an event with CloudFormation itself:
 * its resources (physical ids and statuses), its template, and, when needed, its status
 * and parameters. Every call has a timeout and the SDK's standard retries.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';

let client: CloudFormationClient | undefined;

function cloudformation(): CloudFormationClient {
  client ??= new CloudFormationClient({
    maxAttempts: 5,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 5_000 },
  });
  return client;
}

export interface StackResource {
  readonly type: string;
  readonly status: string;
  readonly physicalId?: string;
}

/** The stack's resources by logical id. */
export async function stackResources(stackId: string): Promise<Map<string, StackResource>> {
  const resources = new Map<string, StackResource>();
  let token: string | undefined;
  do {
    const page = await cloudformation().send(new ListStackResourcesCommand({ StackName: stackId, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) {
      if (!r.LogicalResourceId) continue;
      resources.set(r.LogicalResourceId, {
        type: r.ResourceType ?? '',
        status: r.ResourceStatus ?? '',
        physicalId: r.PhysicalResourceId,
      });
    }
    token = page.NextToken;
  } while (token);
  return resources;
}

/** The stack's template resources by logical id; empty when the template is not JSON. */
export async function templateResources(
  stackId: string,
): Promise<Record<string, { readonly Type?: string; readonly Properties?: Record<string, unknown> }>> {
  const out = await cloudformation().send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Original' }));
  try {
    return (JSON.parse(out.TemplateBody ?? '{}') as { Resources?: Record<string, never> }).Resources ?? {};
  } catch {
    return {};
  }
}

/** The resource's properties as the stack's template gives them; not found when the template is not JSON. */
export async function templateProperties(
  stackId: string,
  logicalId: string,
): Promise<{ found: boolean; properties?: unknown }> {
  const resource = (await templateResources(stackId))[logicalId];
  return { found: resource !== undefined, properties: resource?.Properties ?? {} };
}

/** The stack's status and its template parameters' values. */
export async function stackStatus(stackId: string): Promise<{ status?: string; parameters: Map<string, string> }> {
  const out = await cloudformation().send(new DescribeStacksCommand({ StackName: stackId }));
  const stack = out.Stacks?.[0];
  return {
    status: stack?.StackStatus,
    parameters: new Map(
      (stack?.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ResolvedValue ?? p.ParameterValue ?? '']),
    ),
  };
}
