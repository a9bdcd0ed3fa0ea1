import * as cdk from 'aws-cdk-lib';
import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Acknowledges a cdk-nag rule on `scope`, with its reason, in both forms cdk-nag reads:
 * `Validations.of(scope).acknowledge` (cdk-nag v3), looked up rather than called outright
 * because aws-cdk-lib has it only from 2.252.0 (`Validations` from 2.251.0) and the library
 * supports older versions, where cdk-nag v3 does not run; and the `cdk_nag` metadata of the
 * scope's CloudFormation resource (cdk-nag v2). An id with a finding (`Rule[finding]`)
 * acknowledges that finding only: in v2's form, `appliesTo`.
 */
export function acknowledgeNagRule(scope: IConstruct, id: string, reason: string): void {
  const validations: Partial<cdk.Validations> | undefined = (cdk as Partial<typeof cdk>).Validations?.of(scope);
  validations?.acknowledge?.({ id, reason });
  const resource = scope.node.defaultChild as CfnResource;
  const finding = /^([^[]+)\[(.+)\]$/.exec(id);
  const rule = finding ? { id: finding[1], reason, appliesTo: [finding[2]] } : { id, reason };
  const rules = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
  resource.addMetadata('cdk_nag', { rules_to_suppress: [...rules, rule] });
}
