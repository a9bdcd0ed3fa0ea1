// Strict SDK mocks for handler tests: any call not set up by a test rejects.
import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  CognitoIdentityProviderClient,
  DescribeUserPoolCommand,
  GetGroupCommand,
  ListUsersCommand,
  UsernameAttributeType,
} from '@aws-sdk/client-cognito-identity-provider';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { POOL_ID } from './cfn';

export const cognito = mockClient(CognitoIdentityProviderClient);
export const secrets = mockClient(SecretsManagerClient);
export const ssm = mockClient(SSMClient);
/** What the function reads of its own stack, to check each event. */
export const cloudformation = mockClient(CloudFormationClient);

/** An error shaped as the SDK throws them. */
export function awsError(name: string, message: string = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export const POLICY = {
  MinimumLength: 10,
  RequireUppercase: true,
  RequireLowercase: true,
  RequireNumbers: true,
  RequireSymbols: true,
};

/** Resets every mock to strict: only the pool's description and its groups answer. */
export function strictMocks(poolId: string = POOL_ID, groups: string[] = ['admins', 'testers']): void {
  cognito.reset();
  secrets.reset();
  ssm.reset();
  cognito.onAnyCommand().rejects(awsError('UnexpectedCall', 'a call the test did not set up'));
  secrets.onAnyCommand().rejects(awsError('UnexpectedCall', 'a call the test did not set up'));
  ssm.onAnyCommand().rejects(awsError('UnexpectedCall', 'a call the test did not set up'));
  cloudformation.reset();
  cloudformation.onAnyCommand().rejects(awsError('UnexpectedCall', 'a call the test did not set up'));
  describePool(poolId, groups);
}

/** How the pool compares usernames, as DescribeUserPool reports it. */
export interface PoolUsernames {
  /** `UsernameConfiguration.CaseSensitive`; absent when the pool reports none. */
  readonly caseSensitive?: boolean;
  /** `UsernameAttributes`: `email` and/or `phone_number` when the username is an alias. */
  readonly usernameAttributes?: UsernameAttributeType[];
  /** `EstimatedNumberOfUsers`; absent when the pool reports none. */
  readonly estimatedUsers?: number;
}

export function describePool(
  poolId: string,
  groups: string[] = ['admins', 'testers'],
  usernames: PoolUsernames = {},
): void {
  cognito.on(DescribeUserPoolCommand, { UserPoolId: poolId }).resolves({
    UserPool: {
      Id: poolId,
      Policies: { PasswordPolicy: POLICY },
      UsernameConfiguration:
        usernames.caseSensitive === undefined ? undefined : { CaseSensitive: usernames.caseSensitive },
      UsernameAttributes: usernames.usernameAttributes,
      EstimatedNumberOfUsers: usernames.estimatedUsers,
      SchemaAttributes: [
        'sub',
        'email',
        'email_verified',
        'phone_number',
        'phone_number_verified',
        'given_name',
        'custom:team',
      ].map((Name) => ({ Name })),
    },
  });
  cognito.on(GetGroupCommand).rejects(awsError('ResourceNotFoundException', 'Group not found.'));
  for (const GroupName of groups) {
    cognito.on(GetGroupCommand, { UserPoolId: poolId, GroupName }).resolves({ Group: { GroupName } });
  }
}

/** The `sub` the mocks give a user: stable, so tests can compare it with the ledger's. */
export function subOf(username: string, poolId: string = POOL_ID): string {
  return `sub-${poolId}-${username}`;
}

/** A user as AdminGetUser returns it. */
function liveUser(username: string, sub: string, createdAt: Date) {
  return { Username: username, UserAttributes: [{ Name: 'sub', Value: sub }], UserCreateDate: createdAt };
}

/** AdminGetUser finds no such user (pre-flight: the username is free). */
export function absent(usernames: string[], poolId: string = POOL_ID): void {
  for (const Username of usernames) {
    cognito
      .on(AdminGetUserCommand, { UserPoolId: poolId, Username })
      .rejects(awsError('UserNotFoundException', 'User does not exist.'));
  }
}

/** AdminGetUser finds the user, with this `sub`, made at `createdAt`. */
export function present(
  usernames: string[],
  options: { poolId?: string; sub?: (username: string) => string; createdAt?: Date } = {},
): void {
  const poolId = options.poolId ?? POOL_ID;
  for (const Username of usernames) {
    const sub = options.sub?.(Username) ?? subOf(Username, poolId);
    cognito
      .on(AdminGetUserCommand, { UserPoolId: poolId, Username })
      .resolves(liveUser(Username, sub, options.createdAt ?? new Date('2020-01-01T00:00:00Z')));
  }
}

/**
 * AdminGetUser finds no user on the first look (pre-flight) and, from then on, the user
 * this request created (for the `sub` check before a compensating delete).
 */
export function absentThenCreated(usernames: string[], poolId: string = POOL_ID): void {
  for (const Username of usernames) {
    cognito
      .on(AdminGetUserCommand, { UserPoolId: poolId, Username })
      .rejectsOnce(awsError('UserNotFoundException', 'User does not exist.'))
      .resolves(liveUser(Username, subOf(Username, poolId), new Date()));
  }
}

/** AdminCreateUser's answer for a new user: its pool username and `sub`. */
export function createdUser(username: string, poolId: string = POOL_ID, sub: string = subOf(username, poolId)) {
  return { User: { Username: username, Attributes: [{ Name: 'sub', Value: sub }] } };
}

/** AdminCreateUser succeeds for any user of the pool, answering as Cognito does. */
export function createsAnyUser(poolId: string = POOL_ID): void {
  cognito.on(AdminCreateUserCommand, { UserPoolId: poolId }).callsFake(async (input: { Username: string }) => {
    return createdUser(input.Username, poolId);
  });
}

/**
 * ListUsers pages through the pool's users: one page per array, each user as
 * `{ Username, sub, email? }`; page n answers the token `page-n`.
 */
export function listsUsers(
  pages: { Username: string; sub?: string; email?: string }[][],
  poolId: string = POOL_ID,
): void {
  pages.forEach((page, n) => {
    const users = page.map((u) => ({
      Username: u.Username,
      UserCreateDate: new Date('2020-01-01T00:00:00Z'),
      Attributes: [
        { Name: 'sub', Value: u.sub ?? subOf(u.Username, poolId) },
        ...(u.email ? [{ Name: 'email', Value: u.email }] : []),
      ],
    }));
    cognito
      .on(ListUsersCommand, { UserPoolId: poolId, PaginationToken: n === 0 ? undefined : `page-${n}` })
      .resolves({ Users: users, PaginationToken: n + 1 < pages.length ? `page-${n + 1}` : undefined });
  });
}

/**
 * CloudFormation, as it is while it sends `event`: the resource in progress for the
 * request (a Delete of a replaced physical id: the stack cleaning up), and the template
 * giving the resource exactly the event's properties.
 */
export function cloudFormationSends(event: CloudFormationCustomResourceEvent): void {
  const physical = (event as { PhysicalResourceId?: string }).PhysicalResourceId;
  const status = { Create: 'CREATE_IN_PROGRESS', Update: 'UPDATE_IN_PROGRESS', Delete: 'DELETE_IN_PROGRESS' }[
    event.RequestType
  ];
  cloudformation.on(ListStackResourcesCommand, { StackName: event.StackId }).resolves({
    StackResourceSummaries: [
      {
        LogicalResourceId: event.LogicalResourceId,
        PhysicalResourceId: physical,
        ResourceType: 'Custom::CognitoUserSeed',
        ResourceStatus: status as never,
        LastUpdatedTimestamp: new Date(),
      },
    ],
  });
  cloudformation.on(GetTemplateCommand, { StackName: event.StackId }).resolves({
    TemplateBody: JSON.stringify({
      Resources: {
        [event.LogicalResourceId]: { Type: 'Custom::CognitoUserSeed', Properties: event.ResourceProperties },
      },
    }),
  });
  cloudformation
    .on(DescribeStacksCommand, { StackName: event.StackId })
    .resolves({ Stacks: [{ StackName: 's', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date() }] });
}
