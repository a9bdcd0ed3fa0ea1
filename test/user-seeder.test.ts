import { App, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PasswordMode, SeededUserPool, SeedPassword, UserSeeder } from '../lib';

const COGNITO_ACTIONS = [
  'cognito-idp:AdminAddUserToGroup',
  'cognito-idp:AdminCreateUser',
  'cognito-idp:AdminDeleteUser',
  'cognito-idp:AdminDeleteUserAttributes',
  'cognito-idp:AdminEnableUser',
  'cognito-idp:AdminGetUser',
  'cognito-idp:AdminListGroupsForUser',
  'cognito-idp:AdminRemoveUserFromGroup',
  'cognito-idp:AdminResetUserPassword',
  'cognito-idp:AdminSetUserMFAPreference',
  'cognito-idp:AdminSetUserPassword',
  'cognito-idp:AdminUpdateUserAttributes',
  'cognito-idp:DescribeUserPool',
  'cognito-idp:GetGroup',
  'cognito-idp:ListUsers',
];

function importedPool(stack: Stack): cognito.IUserPool {
  return cognito.UserPool.fromUserPoolId(stack, 'Imported', 'us-east-1_abc');
}

function seedResource(template: Template): { [key: string]: any } {
  const resources = template.findResources('Custom::CognitoUserSeed');
  expect(Object.keys(resources)).toHaveLength(1);
  return Object.values(resources)[0] as { [key: string]: any };
}

describe('UserSeeder', () => {
  test('renders one Custom::CognitoUserSeed with references only, scalars as strings', () => {
    // GIVEN
    const stack = new Stack();
    const secret = new secretsmanager.Secret(stack, 'Secret');
    const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Param', {
      parameterName: '/seed/bob',
    });

    // WHEN
    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [
        {
          username: 'alice',
          mode: PasswordMode.PERMANENT,
          password: SeedPassword.fromSecret(secret, 'password'),
          groups: ['admins'],
        },
        {
          username: 'bob',
          mode: PasswordMode.TEMPORARY,
          password: SeedPassword.fromSsmParameter(parameter),
          passwordRevision: '3',
        },
        {
          username: 'dave',
          mode: PasswordMode.RESET_REQUIRED,
          attributes: { email: 'd@example.com', email_verified: 'true' },
        },
      ],
    });

    // THEN
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      UserPoolId: 'us-east-1_abc',
      RemovalPolicy: 'destroy',
      AdoptExistingUsers: 'false',
      MaxConcurrency: '64',
      Rates: { Create: '50', Recovery: '30', Write: '25', Read: '120' },
      Users: [
        {
          Username: 'alice',
          Mode: 'PERMANENT',
          Password: {
            Source: 'secretsmanager',
            SecretArn: { Ref: Match.stringLikeRegexp('Secret') },
            JsonField: 'password',
          },
          Groups: ['admins'],
        },
        {
          Username: 'bob',
          Mode: 'TEMPORARY',
          Password: { Source: 'ssm', ParameterName: '/seed/bob' },
          PasswordRevision: '3',
        },
        {
          Username: 'dave',
          Mode: 'RESET_REQUIRED',
          Attributes: { email: 'd@example.com', email_verified: 'true' },
          Password: Match.absent(),
        },
      ],
    });
  });

  test('grants exact Cognito actions on exactly the pool, and reads of exactly the referenced secret and parameter', () => {
    const stack = new Stack();
    const secret = new secretsmanager.Secret(stack, 'Secret');
    const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Param', {
      parameterName: '/seed/bob',
    });
    const pool = new cognito.UserPool(stack, 'Pool');

    new UserSeeder(stack, 'Seeder', {
      userPool: pool,
      users: [
        { username: 'alice', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(secret) },
        { username: 'amy', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(secret) },
        { username: 'bob', mode: PasswordMode.TEMPORARY, password: SeedPassword.fromSsmParameter(parameter) },
      ],
    });

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: COGNITO_ACTIONS,
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('Pool'), 'Arn'] },
          },
          {
            Action: 'secretsmanager:GetSecretValue',
            Effect: 'Allow',
            Resource: { Ref: Match.stringLikeRegexp('Secret') },
          },
          {
            Action: 'ssm:GetParameter',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':ssm:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':parameter/seed/bob',
                ],
              ],
            },
          },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('CognitoUserSeederFunctionServiceRole') }],
    });
  });

  test('the role has no managed policy, logs only to its own log group with a retention, and no * resource anywhere', () => {
    const stack = new Stack();
    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() }],
    });

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: Match.absent(),
      Policies: [
        {
          PolicyName: 'Logs',
          PolicyDocument: {
            Statement: [
              {
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('CognitoUserSeederFunctionLogGroup'), 'Arn'] },
              },
            ],
          },
        },
        {
          PolicyName: 'Ledger',
          PolicyDocument: {
            Statement: [
              {
                Action: [
                  'dynamodb:DeleteItem',
                  'dynamodb:GetItem',
                  'dynamodb:PutItem',
                  'dynamodb:Query',
                  'dynamodb:UpdateItem',
                ],
                Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('CognitoUserSeederFunctionLedger'), 'Arn'] },
              },
            ],
          },
        },
        {
          PolicyName: 'Stack',
          PolicyDocument: {
            Statement: [
              {
                Action: [
                  'cloudformation:DescribeStacks',
                  'cloudformation:GetTemplate',
                  'cloudformation:ListStackResources',
                ],
                Resource: { Ref: 'AWS::StackId' },
              },
            ],
          },
        },
        {
          // Lambda invokes the failure destination with the seeding function's role.
          PolicyName: 'FailureAnswer',
          PolicyDocument: {
            Statement: [
              {
                Action: 'lambda:InvokeFunction',
                Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('CognitoUserSeederFunctionFailureAnswer'), 'Arn'] },
              },
            ],
          },
        },
      ],
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Timeout: 900,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('CognitoUserSeederFunctionLogGroup') } },
    });
    // Lambda retries a delivery that crashed: a delivery starts nothing twice.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
    const [machineId] = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'));
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of (policy as any).Properties.PolicyDocument.Statement) {
        const resource = JSON.stringify(statement.Resource);
        // The one wildcard: the executions of the stack's own state machine (their names
        // come from CloudFormation's request ids).
        const executions = resource.includes(`":execution:",{"Fn::GetAtt":["${machineId}","Name"]},":*"`);
        if (!executions) expect(resource).not.toMatch(/"\*"|:\*"/);
        expect(JSON.stringify(statement.Action)).not.toContain('*');
      }
    }
  });

  test("the seeding function's failure destination is the stack's answerer, which may only log, read its stack's status and its state machine's executions", () => {
    // GIVEN
    const stack = new Stack();
    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() }],
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN after the last retry, Lambda hands the event's record to the answerer
    const [[answererId, answerer]] = Object.entries(
      template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onFailure' } }),
    ) as [string, any][];
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('CognitoUserSeederFunctionHandler') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [answererId, 'Arn'] } } },
    });
    // the same bundle, its own log group with the same retention, the seeding function's log group named
    const [, seeder] = Object.entries(
      template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }),
    )[0] as [string, any];
    expect(answerer.Properties.Code).toEqual(seeder.Properties.Code);
    expect(answerer.Properties).toMatchObject({
      Runtime: seeder.Properties.Runtime,
      Timeout: 120,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/^CognitoUserSeederFunctionFailureAnswerLogGroup/) } },
      Environment: {
        Variables: {
          SEED_STACK_ID: { Ref: 'AWS::StackId' },
          SEED_LOG_GROUP_NAME: seeder.Properties.LoggingConfig.LogGroup,
        },
      },
    });
    const logGroupId = answerer.Properties.LoggingConfig.LogGroup.Ref;
    expect(template.toJSON().Resources[logGroupId].Properties).toEqual({ RetentionInDays: 30 });
    // its own role: its log group and its own stack's status, nothing else
    const roleId = answerer.Properties.Role['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[roleId].Properties).toEqual({
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        Version: '2012-10-17',
      },
      Description: expect.stringMatching(/failure answerer/),
      Policies: [
        {
          PolicyName: 'Logs',
          PolicyDocument: {
            Statement: [
              {
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Effect: 'Allow',
                Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
              },
            ],
            Version: '2012-10-17',
          },
        },
        {
          PolicyName: 'Stack',
          PolicyDocument: {
            Statement: [
              { Action: 'cloudformation:DescribeStacks', Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } },
            ],
            Version: '2012-10-17',
          },
        },
      ],
    });
    // and, in a policy of its own, describe the state machine's executions (to leave a request
    // an attempt started to its execution's answer): a policy the seed resource depends on and
    // the answerer does not, since the state machine names the seeding function
    const answerPolicies = Object.entries(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
    ) as [string, any][];
    expect(answerPolicies).toHaveLength(1);
    const [answerPolicyId, answerPolicy] = answerPolicies[0];
    const machineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    expect(answerPolicy.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: 'states:DescribeExecution',
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
    ]);
    expect(answerer.DependsOn ?? []).not.toContain(answerPolicyId);
    expect(seedResource(template).DependsOn).toContain(answerPolicyId);
    // and only the seeding role may invoke it: nothing else names it but the invoke config
    const naming = Object.entries(template.toJSON().Resources)
      .filter(([id, r]) => id !== answererId && JSON.stringify(r).includes(`"${answererId}"`))
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
    expect(naming).toEqual([
      'CognitoUserSeederFunctionHandlerEventInvokeConfig',
      'CognitoUserSeederFunctionServiceRole',
    ]);
  });

  test('a secret with a customer managed key is decrypted only through Secrets Manager', () => {
    const stack = new Stack();
    const key = new kms.Key(stack, 'Key');
    const secret = new secretsmanager.Secret(stack, 'Secret', { encryptionKey: key });

    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [{ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(secret) }],
    });

    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'kms:Decrypt',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('Key'), 'Arn'] },
            Condition: {
              StringEquals: {
                'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
              },
            },
          },
        ]),
      },
    });
  });

  test('a secret imported by name is granted by its partial ARN and suffix', () => {
    const stack = new Stack();
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'seed/alice');

    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [{ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(secret) }],
    });

    const policy = Object.entries(Template.fromStack(stack).findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('SeederPolicy'),
    )![1] as any;
    expect(JSON.stringify(policy.Properties.PolicyDocument.Statement[1].Resource)).toContain(
      ':secret:seed/alice-??????',
    );
  });

  test('one seeding function per stack, shared by every seeder, each with its own policy', () => {
    const stack = new Stack();
    const pool1 = new cognito.UserPool(stack, 'Pool1');
    const pool2 = new cognito.UserPool(stack, 'Pool2');
    new UserSeeder(stack, 'Seeder1', { userPool: pool1 });
    new UserSeeder(stack, 'Seeder2', { userPool: pool2 });

    const template = Template.fromStack(stack);
    // The seeding function, and its failure answerer.
    template.resourceCountIs('AWS::Lambda::Function', 2);
    // Their roles, and the state machine's.
    template.resourceCountIs('AWS::IAM::Role', 3);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    // One policy per seeder, and the engine policies of the function and of its answerer.
    template.resourceCountIs('AWS::IAM::Policy', 4);
    template.resourceCountIs('Custom::CognitoUserSeed', 2);
  });

  test('the seed resource depends on its policy and on the groups of its pool in the same stack', () => {
    const stack = new Stack();
    const pool = new cognito.UserPool(stack, 'Pool');
    const other = new cognito.UserPool(stack, 'Other');
    const seeder = new UserSeeder(stack, 'Seeder', { userPool: pool });
    // Groups defined after the seeder count too.
    new cognito.UserPoolGroup(stack, 'Admins', { userPool: pool, groupName: 'admins' });
    new cognito.CfnUserPoolGroup(stack, 'Testers', { userPoolId: pool.userPoolId, groupName: 'testers' });
    new cognito.UserPoolGroup(stack, 'Unrelated', { userPool: other, groupName: 'x' });
    seeder.addUser({
      username: 'a',
      mode: PasswordMode.TEMPORARY,
      password: SeedPassword.generate(),
      groups: ['admins'],
    });

    const dependsOn: string[] = seedResource(Template.fromStack(stack)).DependsOn;
    expect(dependsOn.sort()).toEqual([
      expect.stringMatching(/^Admins/),
      expect.stringMatching(/^CognitoUserSeederFunctionEnginePolicy/),
      expect.stringMatching(/^CognitoUserSeederFunctionFailureAnswerEnginePolicy/),
      expect.stringMatching(/^CognitoUserSeederFunctionLedger/),
      expect.stringMatching(/^SeederPolicy/),
      expect.stringMatching(/^Testers/),
    ]);
  });

  test('the seeders of one stack run one after another: each seed resource depends on the one made before it', () => {
    // GIVEN three seeders in one stack: two on one pool, one (a SeededUserPool's) on its own
    const stack = new Stack();
    const pool = new cognito.UserPool(stack, 'Pool');
    const password = SeedPassword.generate();
    const first = new UserSeeder(stack, 'First', {
      userPool: pool,
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password }],
    });
    const second = new SeededUserPool(stack, 'Second', {
      users: [{ username: 'b', mode: PasswordMode.TEMPORARY, password }],
    }).seeder;
    const third = new UserSeeder(stack, 'Third', {
      userPool: pool,
      users: [{ username: 'c', mode: PasswordMode.TEMPORARY, password }],
    });

    // WHEN
    const seeds = Template.fromStack(stack).findResources('Custom::CognitoUserSeed') as Record<string, any>;

    // THEN a chain in construct order: CloudFormation creates them one after another, and
    // deletes them one after another in the reverse order
    const idOf = (s: UserSeeder) => stack.resolve((s.node.findChild('Resource').node.defaultChild as any).logicalId);
    const seedDependencies = (s: UserSeeder) =>
      (seeds[idOf(s)].DependsOn as string[]).filter((id) => seeds[id] !== undefined);
    expect(seedDependencies(first)).toEqual([]);
    expect(seedDependencies(second)).toEqual([idOf(first)]);
    expect(seedDependencies(third)).toEqual([idOf(second)]);
  });

  test('seeders of different stacks are not chained', () => {
    // GIVEN
    const app = new App();
    const one = new Stack(app, 'One');
    const two = new Stack(app, 'Two');
    new UserSeeder(one, 'Seeder', { userPool: importedPool(one) });
    new UserSeeder(two, 'Seeder', { userPool: importedPool(two) });

    // THEN neither seed resource waits for the other, and the stacks stay independent
    for (const stack of [one, two]) {
      const [seed] = Object.values(Template.fromStack(stack).findResources('Custom::CognitoUserSeed')) as any[];
      expect(seed.DependsOn.filter((id: string) => id.startsWith('Seeder'))).toEqual([
        expect.stringMatching(/^SeederPolicy/),
      ]);
      expect(stack.dependencies).toEqual([]);
    }
  });

  test('the ledger: one on-demand, encrypted table per stack with point-in-time recovery, removed with the stack after every seed resource', () => {
    // GIVEN two seeders in one stack
    const stack = new Stack();
    const pool = importedPool(stack);
    const password = SeedPassword.generate();
    new UserSeeder(stack, 'One', {
      userPool: pool,
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password }],
    });
    new UserSeeder(stack, 'Two', {
      userPool: pool,
      users: [{ username: 'b', mode: PasswordMode.TEMPORARY, password }],
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN one table, found by the function through its environment
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    const [tableId, table] = Object.entries(template.findResources('AWS::DynamoDB::Table'))[0] as [string, any];
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties).toEqual({
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { LEDGER_TABLE_NAME: { Ref: tableId } } },
    });
    for (const seed of Object.values(template.findResources('Custom::CognitoUserSeed')) as any[]) {
      expect(seed.DependsOn).toContain(tableId);
    }
  });

  test('CloudFormation waits 3,600 s for a seed resource: its request runs in slices of the stack state machine', () => {
    const stack = new Stack();
    new UserSeeder(stack, 'Seeder', { userPool: importedPool(stack) });

    const template = Template.fromStack(stack);

    template.hasResourceProperties('Custom::CognitoUserSeed', { ServiceTimeout: '3600' });
    // The function does not invoke itself any more.
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('lambda:InvokeFunction');
  });

  test('seeders of one stack on one pool each know the others and their usernames, to hand a moved user over', () => {
    // GIVEN
    const stack = new Stack();
    const pool = new cognito.UserPool(stack, 'Pool');
    const password = SeedPassword.generate();
    const one = new UserSeeder(stack, 'One', {
      userPool: pool,
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password }],
    });
    const two = new UserSeeder(stack, 'Two', {
      userPool: pool,
      users: [{ username: 'b', mode: PasswordMode.TEMPORARY, password }],
    });
    new UserSeeder(stack, 'Elsewhere', {
      userPool: importedPool(stack),
      users: [{ username: 'c', mode: PasswordMode.TEMPORARY, password }],
    });

    // WHEN
    const template = Template.fromStack(stack);

    // THEN
    const idOf = (s: UserSeeder) => stack.resolve((s.node.findChild('Resource').node.defaultChild as any).logicalId);
    const seeds = template.findResources('Custom::CognitoUserSeed') as Record<string, any>;
    expect(seeds[idOf(one)].Properties.Siblings).toEqual([{ Owner: idOf(two), Usernames: ['b'] }]);
    expect(seeds[idOf(two)].Properties.Siblings).toEqual([{ Owner: idOf(one), Usernames: ['a'] }]);
    const elsewhere = Object.values(seeds).find((r) => r.Properties.Users[0].Username === 'c');
    expect(elsewhere.Properties.Siblings).toBeUndefined();
  });

  test('fails when two seeders of one stack seed the same username into one pool', () => {
    const stack = new Stack();
    const pool = new cognito.UserPool(stack, 'Pool');
    const password = SeedPassword.generate();
    new UserSeeder(stack, 'One', {
      userPool: pool,
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password }],
    });
    new UserSeeder(stack, 'Two', {
      userPool: pool,
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password }],
    });

    expect(() => Template.fromStack(stack)).toThrow(
      /One: user 'a' is also seeded by Default\/Two into the same pool: a user belongs to one seeder; list it in one of them\./,
    );
  });

  test('fails when two usernames differ only in case in a pool that compares usernames without case', () => {
    const stack = new Stack();
    const password = SeedPassword.generate();

    expect(
      () =>
        new SeededUserPool(stack, 'Pool', {
          signInCaseSensitive: false,
          users: [
            { username: 'Carol', mode: PasswordMode.TEMPORARY, password },
            { username: 'carol', mode: PasswordMode.TEMPORARY, password },
          ],
        }),
    ).toThrow(
      /users 'Carol' and 'carol' are one user in this pool, which compares usernames without case: list it once\./,
    );
    // A case-sensitive pool keeps them apart.
    expect(
      () =>
        new SeededUserPool(new Stack(), 'Pool', {
          users: [
            { username: 'Carol', mode: PasswordMode.TEMPORARY, password },
            { username: 'carol', mode: PasswordMode.TEMPORARY, password },
          ],
        }),
    ).not.toThrow();
  });

  test('removalPolicy RETAIN, adoption, concurrency and rates reach the resource as strings', () => {
    const stack = new Stack();
    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      removalPolicy: RemovalPolicy.RETAIN,
      adoptExistingUsers: true,
      maxConcurrency: 4,
      rateLimits: { userCreation: 100, accountRecovery: 60, userWrites: 40, userReads: 200 },
    });

    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      RemovalPolicy: 'retain',
      AdoptExistingUsers: 'true',
      MaxConcurrency: '4',
      Rates: { Create: '100', Recovery: '60', Write: '40', Read: '200' },
      Users: [],
    });
  });

  test('generate() is one CloudFormation-generated secret per call, shared by the users given it', () => {
    const stack = new Stack();
    const shared = SeedPassword.generate({ length: 40 });
    const seeder = new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [
        ...Array.from({ length: 5 }, (_, i) => ({
          username: `load-${i}`,
          mode: PasswordMode.PERMANENT,
          password: shared,
        })),
        { username: 'solo', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() },
      ],
    });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 40, IncludeSpace: false, RequireEachIncludedType: true },
    });
    expect(seeder.passwordSecret('load-0')).toBe(seeder.passwordSecret('load-4'));
    expect(seeder.passwordSecret('solo')).not.toBe(seeder.passwordSecret('load-0'));
  });

  test('grantReadPasswords lets a test runner read every stored password', () => {
    const stack = new Stack();
    const runner = new iam.Role(stack, 'Runner', { assumedBy: new iam.AccountRootPrincipal() });
    const seeder = new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [{ username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() }],
    });

    const grant = seeder.grantReadPasswords(runner);

    expect(grant.success).toBe(true);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Runner') }],
      PolicyDocument: {
        // The manifest's statements follow (test/grants.test.ts has them exactly).
        Statement: Match.arrayWith([
          {
            Action: 'secretsmanager:GetSecretValue',
            Effect: 'Allow',
            Resource: { Ref: Match.stringLikeRegexp('SeederGeneratedPassword') },
          },
        ]),
      },
    });
  });

  test('unsafePlainText warns at synth that the password is in the template or users file', () => {
    const stack = new Stack();
    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [
        { username: 'a', mode: PasswordMode.TEMPORARY, password: SeedPassword.unsafePlainText('Plain-Passw0rd!') },
      ],
    });

    Annotations.fromStack(stack).hasWarning(
      '/Default/Seeder',
      Match.stringLikeRegexp("user 'a': .* in plain text into the CloudFormation template or users file"),
    );
  });

  test('no other password source puts a password in the template', () => {
    const stack = new Stack();
    const secret = new secretsmanager.Secret(stack, 'Secret');
    new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [
        { username: 'a', mode: PasswordMode.PERMANENT, password: SeedPassword.fromSecret(secret) },
        { username: 'b', mode: PasswordMode.PERMANENT, password: SeedPassword.generate() },
      ],
    });

    const resource = seedResource(Template.fromStack(stack));
    expect(JSON.stringify(resource.Properties.Users)).not.toContain('plaintext');
    expect(JSON.stringify(resource.Properties.Users)).not.toContain('Value');
  });
});

describe('SeededUserPool', () => {
  test('is a UserPool whose seeder seeds into it', () => {
    const stack = new Stack();
    const pool = new SeededUserPool(stack, 'Pool', {
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() }],
    });
    pool.addUser({ username: 'b', mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() });

    expect(pool).toBeInstanceOf(cognito.UserPool);
    expect(pool.seeder.userPool).toBe(pool);
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      UserPoolId: { Ref: Match.stringLikeRegexp('Pool') },
      Users: [Match.objectLike({ Username: 'a' }), Match.objectLike({ Username: 'b' })],
    });
  });

  test('sizes generated passwords to the pool minimum', () => {
    const stack = new Stack();
    new SeededUserPool(stack, 'Pool', {
      passwordPolicy: { minLength: 64 },
      users: [{ username: 'a', mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() }],
    });

    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64 },
    });
  });

  test('seeding options reach the seeder; the pool keeps its own removal policy', () => {
    const stack = new Stack();
    new SeededUserPool(stack, 'Pool', {
      removalPolicy: RemovalPolicy.DESTROY,
      seeding: { removalPolicy: RemovalPolicy.RETAIN },
    });

    const template = Template.fromStack(stack);
    template.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('Custom::CognitoUserSeed', { RemovalPolicy: 'retain' });
  });
});

describe('synth-time validation', () => {
  const valid = { username: 'a', mode: PasswordMode.TEMPORARY, password: SeedPassword.unsafePlainText('Aa1!aaaaaaaa') };

  function seed(users: any[], props: object = {}): Stack {
    const stack = new Stack(new App(), 'S');
    new UserSeeder(stack, 'Seeder', { userPool: importedPool(stack), users, ...props });
    return stack;
  }

  test.each([
    ['a username is listed twice', [valid, valid], /S\/Seeder: user 'a' is listed twice: list each username once/],
    [
      'a username is empty',
      [{ ...valid, username: '' }],
      /empty username: give every user a username of 1 to 128 characters/,
    ],
    [
      'a username is over 128 characters',
      [{ ...valid, username: 'x'.repeat(129) }],
      /129 characters, Cognito allows at most 128: shorten it/,
    ],
    [
      'a username has whitespace',
      [{ ...valid, username: 'a b' }],
      /user 'a b': the username contains whitespace.*remove it/,
    ],
    [
      'PERMANENT has no password',
      [{ username: 'p', mode: PasswordMode.PERMANENT }],
      /user 'p': mode PERMANENT needs a password: set password to SeedPassword/,
    ],
    [
      'TEMPORARY has no password',
      [{ username: 't', mode: PasswordMode.TEMPORARY }],
      /user 't': mode TEMPORARY needs a password/,
    ],
    [
      'RESET_REQUIRED has no verified contact',
      [{ username: 'r', mode: PasswordMode.RESET_REQUIRED, attributes: { email: 'r@x.com' } }],
      /user 'r': mode RESET_REQUIRED .* needs a verified email or phone: set attributes email and email_verified/,
    ],
    [
      'an attribute name is not standard',
      [{ ...valid, attributes: { favourite_colour: 'blue' } }],
      /attribute 'favourite_colour' is not a standard Cognito attribute.*prefix a custom one with 'custom:'/,
    ],
    [
      'a custom attribute name is too long',
      [{ ...valid, attributes: { 'custom:abcdefghijklmnopqrstu': 'x' } }],
      /not a valid custom attribute name/,
    ],
    [
      'a verified flag is not true or false',
      [{ ...valid, attributes: { email: 'a@x', email_verified: 'yes' } }],
      /email_verified is 'yes', it must be 'true' or 'false'/,
    ],
    [
      'a plain-text password breaks the known policy',
      [{ ...valid, password: SeedPassword.unsafePlainText('short') }],
      /user 'a': the plain-text password breaks the pool's password policy, which needs at least 10 characters/,
    ],
  ])('fails when %s', (_name, users, message) => {
    expect(() => seed(users, { passwordPolicy: { minLength: 10 } })).toThrow(message);
  });

  test('fails when a custom attribute is not defined by a SeededUserPool', () => {
    const stack = new Stack();
    expect(
      () =>
        new SeededUserPool(stack, 'Pool', {
          customAttributes: { team: new cognito.StringAttribute() },
          users: [{ ...valid, attributes: { 'custom:tier': 'gold' } }],
        }),
    ).toThrow(/Pool: user 'a': attribute 'custom:tier' is not defined by the pool \(its custom attributes: team\)/);
  });

  test('fails before any child is created', () => {
    const stack = new Stack();
    expect(() => new SeededUserPool(stack, 'Pool', { users: [valid, valid] })).toThrow(/listed twice/);
    expect(stack.node.tryFindChild('Pool')).toBeUndefined();
    expect(stack.node.tryFindChild('CognitoUserSeederFunction')).toBeUndefined();
  });

  test('fails when addUser repeats a username, and the seeder is left as it was', () => {
    const stack = new Stack();
    const seeder = new UserSeeder(stack, 'Seeder', { userPool: importedPool(stack), users: [valid] });
    expect(() => seeder.addUser(valid)).toThrow(/user 'a' is listed twice/);
    expect(seedResource(Template.fromStack(stack)).Properties.Users).toHaveLength(1);
  });

  test('fails when a generated password is shorter than the pool minimum', () => {
    const stack = new Stack();
    expect(
      () =>
        new SeededUserPool(stack, 'Pool', {
          passwordPolicy: { minLength: 16 },
          users: [{ username: 'g', mode: PasswordMode.PERMANENT, password: SeedPassword.generate({ length: 12 }) }],
        }),
    ).toThrow(/user 'g': SeedPassword.generate\(\{ length: 12 \}\) must be a whole number from 16/);
  });

  test.each([
    [
      'removalPolicy is SNAPSHOT',
      { removalPolicy: RemovalPolicy.SNAPSHOT },
      /removalPolicy 'snapshot' is not supported.*DESTROY or RemovalPolicy.RETAIN/,
    ],
    ['maxConcurrency is 0', { maxConcurrency: 0 }, /maxConcurrency is 0, it must be a positive number/],
    ['a rate is negative', { rateLimits: { userCreation: -1 } }, /rateLimits.userCreation is -1/],
  ])('fails when %s', (_name, props, message) => {
    expect(() => seed([], props)).toThrow(message);
  });

  test('unresolved tokens are not validated', () => {
    const stack = new Stack();
    const token = Lazy.string({ produce: () => 'from-a-token' });
    expect(
      () =>
        new UserSeeder(stack, 'Seeder', {
          userPool: importedPool(stack),
          users: [
            { username: token, mode: PasswordMode.TEMPORARY, password: SeedPassword.generate() },
            {
              username: 'r',
              mode: PasswordMode.RESET_REQUIRED,
              attributes: { email: token, email_verified: Lazy.string({ produce: () => 'true' }) },
            },
          ],
        }),
    ).not.toThrow();
    Template.fromStack(stack).hasResourceProperties('Custom::CognitoUserSeed', {
      Users: [Match.objectLike({ Username: 'from-a-token' }), Match.objectLike({ Username: 'r' })],
    });
  });

  test('passwordSecret fails for an unknown user or a user without a secret', () => {
    const stack = new Stack();
    const seeder = new UserSeeder(stack, 'Seeder', {
      userPool: importedPool(stack),
      users: [
        {
          username: 'r',
          mode: PasswordMode.RESET_REQUIRED,
          attributes: { phone_number: '+15555550100', phone_number_verified: 'true' },
        },
      ],
    });
    expect(() => seeder.passwordSecret('zed')).toThrow(/no seeded user 'zed' \(users: r\)/);
    expect(() => seeder.passwordSecret('r')).toThrow(
      /user 'r' is not stored in a secret: it has none \(mode RESET_REQUIRED\)/,
    );
  });
});
