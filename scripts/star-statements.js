// The IAM statements of a template that allow actions on Resource "*", except the ones AWS
// gives no narrower resource for and the seeder needs: the state machine's log delivery
// and X-Ray tracing (and EC2's two Describe actions, for a function in a VPC).
'use strict';

const UNSCOPED =
  /^(logs:(CreateLogDelivery|DeleteLogDelivery|DescribeLogGroups|DescribeResourcePolicies|GetLogDelivery|ListLogDeliveries|PutResourcePolicy|UpdateLogDelivery)|xray:(GetSamplingRules|GetSamplingTargets|PutTelemetryRecords|PutTraceSegments)|ec2:(DescribeNetworkInterfaces|DescribeSubnets))$/;

function starStatements(template) {
  const found = [];
  const visit = (value) => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    if (value.Effect === 'Allow' && [value.Resource].flat().includes('*')) {
      const actions = [value.Action].flat();
      if (!actions.every((a) => UNSCOPED.test(a))) found.push(actions);
    }
    Object.values(value).forEach(visit);
  };
  visit(template.Resources);
  return found;
}

module.exports = { starStatements };
