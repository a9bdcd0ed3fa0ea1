// Strict SDK mocks for handler tests: any call not set up by a test rejects.
import {
  CognitoIdentityProviderClient,
  DescribeUserPoolCommand,
  GetGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { POOL_ID } from './cfn';

export const cognito = mockClient(CognitoIdentityProviderClient);
export const secrets = mockClient(SecretsManagerClient);
export const ssm = mockClient(SSMClient);

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
  describePool(poolId, groups);
}

export function describePool(poolId: string, groups: string[] = ['admins', 'testers']): void {
  cognito.on(DescribeUserPoolCommand, { UserPoolId: poolId }).resolves({
    UserPool: {
      Id: poolId,
      Policies: { PasswordPolicy: POLICY },
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
