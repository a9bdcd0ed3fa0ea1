/**
 * Resolves the CloudFormation intrinsics a seed resource's properties use (Ref,
 * Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, pseudo parameters) against the ids
 * the rehearsal made. Anything else fails loudly, naming the function.
 */

export interface ResolveContext {
  /** `Ref` values by logical id. */
  readonly refs: ReadonlyMap<string, string>;
  /** `Fn::GetAtt` values by `LogicalId.Attribute`. */
  readonly attributes: ReadonlyMap<string, string>;
}

export const PSEUDO: Record<string, string> = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '000000000000',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'rehearsal',
  'AWS::StackId': 'arn:aws:cloudformation:us-east-1:000000000000:stack/rehearsal/00000000-0000-0000-0000-000000000000',
  'AWS::NoValue': '',
};

export function resolve(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, ctx));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1 && (entries[0][0] === 'Ref' || entries[0][0].startsWith('Fn::'))) {
    return intrinsic(entries[0][0], entries[0][1], ctx);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, ctx)]));
}

function ref(name: string, ctx: ResolveContext): string {
  const value = PSEUDO[name] ?? ctx.refs.get(name);
  if (value === undefined) throw new Error(`rehearsal: Ref ${name} has no value (not stood up by the rehearsal)`);
  return value;
}

function getAtt(logicalId: string, attribute: string, ctx: ResolveContext): string {
  const value = ctx.attributes.get(`${logicalId}.${attribute}`);
  if (value === undefined) throw new Error(`rehearsal: Fn::GetAtt ${logicalId}.${attribute} has no value`);
  return value;
}

function intrinsic(name: string, arg: unknown, ctx: ResolveContext): unknown {
  switch (name) {
    case 'Ref':
      return ref(String(arg), ctx);
    case 'Fn::GetAtt': {
      const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
      return getAtt(String(id), String(attr), ctx);
    }
    case 'Fn::Join': {
      const [sep, parts] = arg as [string, unknown[]];
      return (resolve(parts, ctx) as unknown[]).map(String).join(sep);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      return (resolve(list, ctx) as unknown[])[Number(resolve(index, ctx))];
    }
    case 'Fn::Split': {
      const [sep, source] = arg as [string, unknown];
      return String(resolve(source, ctx)).split(sep);
    }
    case 'Fn::Sub': {
      const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
      const local = resolve(vars, ctx) as Record<string, string>;
      return text.replace(/\$\{([^}!]+)\}/g, (_m, key: string) => {
        if (key in local) return String(local[key]);
        const [id, attr] = key.split(/\.(.+)/);
        return attr ? getAtt(id, attr, ctx) : ref(id, ctx);
      });
    }
    default:
      throw new Error(`rehearsal: ${name} is not supported in seed properties`);
  }
}
