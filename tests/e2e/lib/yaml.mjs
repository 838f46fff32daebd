// A minimal YAML writer for engine config files: plain objects, arrays,
// strings, finite numbers, booleans and null, in block style. Strings that
// could be read as anything but a string are written as JSON strings, which
// are valid YAML double-quoted scalars.

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`yaml: cannot write number ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') {
    return PLAIN.test(v) && !RESERVED.test(v) ? v : JSON.stringify(v);
  }
  throw new TypeError(`yaml: cannot write a ${typeof v}`);
}

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isEmpty = (v) => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

function lines(value, indent) {
  const pad = ' '.repeat(indent);
  const out = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if ((isMap(item) || Array.isArray(item)) && !isEmpty(item)) {
        // "- " takes the place of the first two columns of the nested block.
        const nested = lines(item, indent + 2);
        out.push(`${pad}- ${nested[0].slice(indent + 2)}`, ...nested.slice(1));
      } else {
        out.push(`${pad}- ${isMap(item) ? '{}' : Array.isArray(item) ? '[]' : scalar(item)}`);
      }
    }
  } else {
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const k = scalar(key);
      if ((isMap(v) || Array.isArray(v)) && !isEmpty(v)) {
        out.push(`${pad}${k}:`, ...lines(v, indent + 2));
      } else {
        out.push(`${pad}${k}: ${isMap(v) ? '{}' : Array.isArray(v) ? '[]' : scalar(v)}`);
      }
    }
  }
  return out;
}

/** Returns `value` (an object or an array) as YAML text. */
export function toYaml(value) {
  if (!isMap(value) && !Array.isArray(value)) return `${scalar(value)}\n`;
  return `${lines(value, 0).join('\n')}\n`;
}
