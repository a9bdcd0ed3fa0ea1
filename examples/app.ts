// The example app that cdk.json runs.
import { App } from 'aws-cdk-lib';
import { ExampleStack } from './example-stack';

const app = new App();
new ExampleStack(app, 'CognitoSeederExample');
app.synth();
