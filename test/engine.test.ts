// The engine in the template: one Standard state machine per stack, beside the function
// and the ledger, that runs each request's work in slices and answers CloudFormation
// once; exact permissions both ways; its own log group; and no dependency cycle between
// the function and the machine that names it.
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { PasswordMode, SeedPassword, UserSeeder } from '../lib';

function stackWithSeeders(count = 1, seedingFunction = {}): { stack: Stack; template: Template } {
  const stack = new Stack(new App(), 'S');
  const pool = cognito.UserPool.fromUserPoolId(stack, 'Pool', 'us-east-1_abc');
  for (let i = 0; i < count; i++) {
    new UserSeeder(stack, `Seeder${i}`, {
      userPool: pool,
      users: [{ username: `u${i}`, mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() }],
      seedingFunction,
    });
  }
  return { stack, template: Template.fromStack(stack) };
}

const only = (template: Template, type: string, props?: object): [string, any] => {
  const found = Object.entries(template.findResources(type, props));
  expect(found).toHaveLength(1);
  return found[0] as [string, any];
};

/** The stack's seeding function (its other function is the failure answerer, `index.onFailure`). */
const seedingFunction = (template: Template) =>
  only(template, 'AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } });

function definitionOf(template: Template): any {
  const [, machine] = only(template, 'AWS::StepFunctions::StateMachine');
  // The definition is a Join of text and tokens: put a marker where each token stands.
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
}

test('one Standard state machine per stack, shared by its seeders, named in each seed resource', () => {
  // GIVEN / WHEN
  const { template } = stackWithSeeders(2);

  // THEN
  const [machineId, machine] = only(template, 'AWS::StepFunctions::StateMachine');
  expect(machine.Properties.StateMachineType).toBe('STANDARD');
  const seeds = Object.values(template.findResources('Custom::CognitoUserSeed')) as any[];
  expect(seeds).toHaveLength(2);
  for (const seed of seeds) expect(seed.Properties.StateMachineArn).toEqual({ Ref: machineId });
  // The machine's ARN travels in the properties, never in the function's environment.
  const [, fn] = seedingFunction(template);
  expect(JSON.stringify(fn.Properties.Environment)).not.toContain(machineId);
});

test('the definition: Work slices until done, Answer at the end and from every failure, with the retries Step Functions needs', () => {
  const { template } = stackWithSeeders();
  const definition = definitionOf(template);

  expect(definition.StartAt).toBe('Work');
  expect(definition.TimeoutSeconds).toBe(7200);
  const { Work, Finished, Failed, Answer } = definition.States;
  expect(Work).toMatchObject({
    Type: 'Task',
    Resource: 'arn:TOKEN:states:::lambda:invoke',
    Parameters: { Payload: { kind: 'work', 'request.$': '$.request', 'cursor.$': '$.cursor' } },
    OutputPath: '$.Payload',
    Next: 'Finished',
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Failed' }],
  });
  const retried = (state: any) =>
    Object.fromEntries(state.Retry.flatMap((r: any) => r.ErrorEquals.map((e: string) => [e, r.MaxAttempts])));
  // A crashed, killed, out-of-memory or timed-out slice is run again; so is a throttled or failed invoke.
  expect(retried(Work)).toEqual({
    'Lambda.ClientExecutionTimeoutException': 6,
    'Lambda.ServiceException': 6,
    'Lambda.AWSLambdaException': 6,
    'Lambda.SdkClientException': 6,
    'Lambda.TooManyRequestsException': 8,
    'Lambda.Unknown': 3,
    RequestNotReady: 6,
  });
  expect(Finished).toMatchObject({
    Type: 'Choice',
    Choices: [{ Variable: '$.done', BooleanEquals: true, Next: 'Answer' }],
    Default: 'Work',
  });
  // Only the error's name goes on to the answer, never its text.
  expect(Failed).toEqual({
    Type: 'Pass',
    Parameters: { 'request.$': '$.request', 'failure.$': '$.failure.Error' },
    Next: 'Answer',
  });
  expect(Answer).toMatchObject({
    Type: 'Task',
    Parameters: { Payload: { kind: 'answer', 'request.$': '$.request', 'failure.$': '$.failure' } },
    End: true,
  });
  expect(retried(Answer)).toMatchObject({ AnswerNotDelivered: 11, 'Lambda.Unknown': 8 });
  const answerRetry = Answer.Retry.find((r: any) => r.ErrorEquals.includes('AnswerNotDelivered'));
  // 30 s growing by half each time: the eleven retries cover CloudFormation's hour.
  const covered = Array.from({ length: answerRetry.MaxAttempts }, (_, i) => 30 * 1.5 ** i).reduce((a, b) => a + b);
  expect(covered).toBeGreaterThan(3600);
});

test('exact permissions: the function starts exactly its machine and reads exactly its own stack; the machine invokes exactly the function', () => {
  const { template } = stackWithSeeders();
  const [machineId] = only(template, 'AWS::StepFunctions::StateMachine');
  const [functionId, fn] = seedingFunction(template);

  // The function's engine policy: start this machine, describe or stop its executions.
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyName: Match.stringLikeRegexp('EnginePolicy'),
    PolicyDocument: {
      Statement: [
        { Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: machineId } },
        {
          Action: ['states:DescribeExecution', 'states:StopExecution'],
          Effect: 'Allow',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':states:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':execution:',
                { 'Fn::GetAtt': [machineId, 'Name'] },
                ':*',
              ],
            ],
          },
        },
      ],
    },
  });
  // Its own stack, to check that an event is CloudFormation's.
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const role = template.toJSON().Resources[roleId];
  const stackPolicy = role.Properties.Policies.find((p: any) => p.PolicyName === 'Stack');
  expect(stackPolicy.PolicyDocument.Statement).toEqual([
    {
      Action: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate', 'cloudformation:ListStackResources'],
      Effect: 'Allow',
      Resource: { Ref: 'AWS::StackId' },
    },
  ]);
  // No self-invocation is left: the one function the seeding role may invoke is its failure answerer.
  const [answererId] = only(template, 'AWS::Lambda::Function', { Properties: { Handler: 'index.onFailure' } });
  const invoked = Object.entries(template.toJSON().Resources).flatMap(([, r]: [string, any]) =>
    [
      r.Properties?.Policies ?? [],
      r.Properties?.PolicyDocument ? [{ PolicyDocument: r.Properties.PolicyDocument }] : [],
    ]
      .flat()
      .flatMap((p: any) => p.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes('lambda:InvokeFunction'))
      .map((st: any) => st.Resource),
  );
  expect(invoked).toEqual(
    expect.arrayContaining([{ 'Fn::GetAtt': [functionId, 'Arn'] }, { 'Fn::GetAtt': [answererId, 'Arn'] }]),
  );
  expect(invoked).toHaveLength(2);
  expect(role.Properties.Policies.find((p: any) => p.PolicyName === 'FailureAnswer').PolicyDocument.Statement).toEqual([
    { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [answererId, 'Arn'] } },
  ]);
  expect(fn.Properties.Environment.Variables).not.toHaveProperty('STATE_MACHINE_ARN');

  // The machine's role: invoke exactly the function (no `<arn>:*`), deliver its logs and traces.
  const [, engineRole] = Object.entries(
    template.findResources('AWS::IAM::Role', {
      Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'states.amazonaws.com' } }] } },
    }),
  )[0] as [string, any];
  const statements = engineRole.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
  expect(statements.find((s: any) => s.Action === 'lambda:InvokeFunction').Resource).toEqual({
    'Fn::GetAtt': [functionId, 'Arn'],
  });
  // Only the actions that have no resource-level permissions are on `*`.
  const onStar = statements.filter((s: any) => s.Resource === '*').flatMap((s: any) => s.Action);
  expect(
    onStar.every((a: string) =>
      /^(logs:(CreateLogDelivery|DeleteLogDelivery|DescribeLogGroups|DescribeResourcePolicies|GetLogDelivery|ListLogDeliveries|PutResourcePolicy|UpdateLogDelivery)|xray:\w+)$/.test(
        a,
      ),
    ),
  ).toBe(true);
  expect(engineRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toEqual({
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
  });
});

test("the machine logs every event to its own log group, with the function's log options, never a state's data", () => {
  const { template } = stackWithSeeders(1, { logRetention: logs.RetentionDays.ONE_WEEK });
  const [, machine] = only(template, 'AWS::StepFunctions::StateMachine');
  const logGroupId =
    machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
  expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
  const groups = template.findResources('AWS::Logs::LogGroup');
  expect(groups[logGroupId].Properties.RetentionInDays).toBe(7);
  // The function's, the failure answerer's and the machine's.
  expect(Object.keys(groups)).toHaveLength(3);
});

test('the machine is traced unless tracing is DISABLED; its role may trace only then', () => {
  const traced = stackWithSeeders().template;
  expect(only(traced, 'AWS::StepFunctions::StateMachine')[1].Properties.TracingConfiguration).toEqual({
    Enabled: true,
  });
  const off = stackWithSeeders(1, { tracing: lambda.Tracing.DISABLED }).template;
  expect(only(off, 'AWS::StepFunctions::StateMachine')[1].Properties.TracingConfiguration).toEqual({ Enabled: false });
  expect(JSON.stringify(off.toJSON())).not.toContain('xray:PutTraceSegments');
});

test('no dependency cycle: the machine depends on the function, the seed resources on the policy that starts it, the function on neither', () => {
  const { template } = stackWithSeeders(2);
  const resources = template.toJSON().Resources as Record<string, any>;
  // Every reference and DependsOn, as CloudFormation orders resources.
  const edges = new Map<string, Set<string>>();
  const refs = (value: unknown, into: Set<string>): void => {
    if (Array.isArray(value)) return value.forEach((v) => refs(v, into));
    if (!value || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string' && v in resources) into.add(v);
      else if (k === 'Fn::GetAtt') into.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]);
      else refs(v, into);
    }
  };
  for (const [id, r] of Object.entries(resources)) {
    const to = new Set<string>([...(r.DependsOn ?? [])]);
    refs(r.Properties, to);
    edges.set(id, to);
  }
  const visiting = new Set<string>();
  const done = new Set<string>();
  const cycle = (id: string): boolean => {
    if (done.has(id)) return false;
    if (visiting.has(id)) return true;
    visiting.add(id);
    const found = [...(edges.get(id) ?? [])].some(cycle);
    visiting.delete(id);
    done.add(id);
    return found;
  };
  expect(Object.keys(resources).filter(cycle)).toEqual([]);
  const [functionId] = seedingFunction(template);
  const [machineId] = only(template, 'AWS::StepFunctions::StateMachine');
  const enginePolicy = Object.keys(resources).find((id) => /EnginePolicy/.test(id))!;
  expect(edges.get(machineId)).toContain(functionId);
  for (const seed of Object.keys(template.findResources('Custom::CognitoUserSeed'))) {
    expect(edges.get(seed)).toContain(enginePolicy);
  }
  // Everything the function depends on, transitively: neither the machine nor its policy.
  const reach = new Set<string>();
  const walk = (id: string): void => {
    for (const next of edges.get(id) ?? []) {
      if (reach.has(next)) continue;
      reach.add(next);
      walk(next);
    }
  };
  walk(functionId);
  expect(reach.has(machineId)).toBe(false);
  expect(reach.has(enginePolicy)).toBe(false);
});
