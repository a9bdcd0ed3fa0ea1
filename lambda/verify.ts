/**
 * Whether an event's properties are the ones its stack's template gives the resource: the
 * template's properties with every reference resolved the way CloudFormation resolved it
 * (a `Ref` to a resource is its physical id, pseudo parameters come from the stack's ARN,
 * template parameters from the stack). An attribute (`Fn::GetAtt`) or an intrinsic this
 * does not evaluate matches any value in its place, and only there. Pure: no SDK.
 */
import { createHash } from 'crypto';

/** What the stack says references resolve to. */
export interface StackView {
  /** The stack's ARN. */
  readonly stackId: string;
  /** Physical ids by logical id. */
  readonly physicalIds: ReadonlyMap<string, string>;
  /** Template parameters' values, when known. */
  readonly parameters?: ReadonlyMap<string, string>;
}

/** A value the template gives: exact text, or text with holes that match anything. */
type Resolved = { readonly exact: string } | { readonly parts: readonly (string | null)[] };

const ANY: Resolved = { parts: [null] };

/** Why the event's properties are not the template's, or undefined when they are. */
export function propertiesMismatch(
  template: unknown,
  event: unknown,
  stack: StackView,
  path = 'Properties',
): string | undefined {
  if (Array.isArray(template)) {
    if (!Array.isArray(event) || event.length !== template.length) return `${path} is not the template's list`;
    for (let i = 0; i < template.length; i++) {
      const why = propertiesMismatch(template[i], event[i], stack, `${path}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (template !== null && typeof template === 'object') {
    if (isIntrinsic(template))
      return matches(resolve(template, stack), event) ? undefined : `${path} is not what the template resolves to`;
    if (event === null || typeof event !== 'object' || Array.isArray(event))
      return `${path} is not the template's object`;
    const t = template as Record<string, unknown>;
    const e = event as Record<string, unknown>;
    // A key without a value is no key (JSON drops it).
    const present = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
    const keys = new Set([...present(t), ...present(e)]);
    for (const key of keys) {
      if (t[key] === undefined) return `${path}.${key} is not in the template`;
      if (e[key] === undefined) return `${path}.${key} is missing`;
      const why = propertiesMismatch(t[key], e[key], stack, `${path}.${key}`);
      if (why) return why;
    }
    return undefined;
  }
  if (template === null || event === null) return template === event ? undefined : `${path} differs from the template`;
  // CloudFormation hands every scalar over as a string.
  return String(template) === String(event) ? undefined : `${path} differs from the template`;
}

function isIntrinsic(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

function matches(resolved: Resolved, value: unknown): boolean {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    return 'parts' in resolved && resolved.parts.length === 1 && resolved.parts[0] === null;
  const text = String(value);
  if ('exact' in resolved) return resolved.exact === text;
  const pattern = resolved.parts
    .map((p) => (p === null ? '[\\s\\S]*' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`).test(text);
}

function pseudo(name: string, stack: StackView): string | undefined {
  const [, partition, , region, account, resource] = stack.stackId.split(':');
  switch (name) {
    case 'AWS::Partition':
      return partition;
    case 'AWS::Region':
      return region;
    case 'AWS::AccountId':
      return account;
    case 'AWS::StackId':
      return stack.stackId;
    case 'AWS::StackName':
      return resource?.split('/')[1];
    case 'AWS::URLSuffix':
      return partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
    default:
      return undefined;
  }
}

function resolve(value: unknown, stack: StackView): Resolved {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return { exact: String(value) };
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !isIntrinsic(value)) return ANY;
  const [name, arg] = Object.entries(value)[0];
  switch (name) {
    case 'Ref': {
      const ref = String(arg);
      const known = pseudo(ref, stack) ?? stack.physicalIds.get(ref) ?? stack.parameters?.get(ref);
      return known === undefined ? ANY : { exact: known };
    }
    case 'Fn::Join': {
      const [separator, list] = arg as [string, unknown[]];
      if (!Array.isArray(list)) return ANY;
      const parts: (string | null)[] = [];
      list.forEach((item, i) => {
        if (i > 0) parts.push(separator);
        const r = resolve(item, stack);
        parts.push(...('exact' in r ? [r.exact] : r.parts));
      });
      return collapse(parts);
    }
    case 'Fn::Sub': {
      const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
      const parts: (string | null)[] = [];
      let last = 0;
      for (const m of text.matchAll(/\$\{([^}!]+)\}/g)) {
        parts.push(text.slice(last, m.index));
        const key = m[1];
        const r = key in vars ? resolve(vars[key], stack) : key.includes('.') ? ANY : resolve({ Ref: key }, stack);
        parts.push(...('exact' in r ? [r.exact] : r.parts));
        last = (m.index ?? 0) + m[0].length;
      }
      parts.push(text.slice(last));
      return collapse(parts);
    }
    default:
      // Fn::GetAtt, Fn::ImportValue, Fn::If and the like: what they give is not read here.
      return ANY;
  }
}

function collapse(parts: (string | null)[]): Resolved {
  return parts.every((p) => p !== null) ? { exact: parts.join('') } : { parts };
}

/** A digest of an event's properties, the same for the same properties however their keys are ordered. */
export function propertiesDigest(properties: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      );
    }
    return value === null || value === undefined ? value : String(value);
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(properties)))
    .digest('hex');
}

/** The resource statuses in which CloudFormation sends each request type for the resource's current physical id. */
export const IN_PROGRESS: Record<string, readonly string[]> = {
  Create: ['CREATE_IN_PROGRESS'],
  Update: ['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS'],
  Delete: ['DELETE_IN_PROGRESS'],
};

/** Stack statuses in which CloudFormation deletes a replaced physical resource of a logical id. */
export const CLEANING_UP = [
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'ROLLBACK_IN_PROGRESS',
];

/** Stack statuses of a rollback, where a resource's properties are an earlier template's. */
export const ROLLING_BACK = ['UPDATE_ROLLBACK_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'IMPORT_ROLLBACK_IN_PROGRESS'];
