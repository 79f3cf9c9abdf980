// A JSON Schema (draft 2020-12) validator for the subset of keywords the TenderKey
// schemas use. A keyword outside that subset is an error, never silently ignored, so a
// schema cannot claim a rule that the tests do not check.

const ANNOTATIONS = new Set([
  '$schema', '$id', '$comment', '$defs', 'title', 'description', 'default', 'examples',
]);
const ASSERTIONS = new Set([
  '$ref', 'type', 'const', 'enum', 'properties', 'required', 'additionalProperties',
  'dependentRequired', 'items', 'minItems', 'maxItems', 'uniqueItems', 'minLength',
  'maxLength', 'pattern', 'minimum', 'maximum', 'format', 'allOf', 'anyOf', 'oneOf', 'not',
  'if', 'then', 'else',
]);

export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v; // 'object' | 'string' | 'number' | 'boolean'
}

function hasType(v, t) {
  switch (t) {
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    default: return typeOf(v) === t;
  }
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function isDateTime(s) {
  const m = DATE_TIME.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h <= 23 && mi <= 59 && se <= 60;
}

const FORMATS = { 'date-time': isDateTime };

function pointerGet(doc, pointer, where) {
  if (pointer === '' || pointer === undefined) return doc;
  if (!pointer.startsWith('/')) throw new Error(`unsupported fragment "${pointer}" in ${where}`);
  let cur = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) {
      throw new Error(`unresolvable reference ${where}`);
    }
    cur = cur[key];
  }
  return cur;
}

const childPath = (path, key) => `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

export class SchemaSet {
  #docs = new Map(); // $id -> schema document
  #regex = new Map();

  add(schema) {
    if (typeof schema.$id !== 'string' || !URL.canParse(schema.$id)) {
      throw new Error('a schema document needs an absolute $id');
    }
    this.#docs.set(schema.$id, schema);
    return this;
  }

  has(id) {
    return this.#docs.has(id);
  }

  // Returns { valid, errors: [{ path, message }] } for the document with this $id.
  validate(id, instance) {
    const [docId, fragment] = id.split('#');
    const doc = this.#docs.get(docId);
    if (!doc) throw new Error(`unknown schema ${docId}`);
    const errors = [];
    this.#check(pointerGet(doc, fragment, id), instance, docId, '', errors);
    return { valid: errors.length === 0, errors };
  }

  // Walks every schema reachable from every document and throws on an unsupported
  // keyword or a reference that does not resolve.
  checkAll() {
    for (const [id, doc] of this.#docs) this.#lint(doc, id, '#');
  }

  #lint(schema, base, where) {
    if (typeof schema === 'boolean') return;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
      throw new Error(`not a schema at ${base}${where}`);
    }
    for (const [k, v] of Object.entries(schema)) {
      const at = `${where}/${k}`;
      if (k === '$defs') {
        for (const [name, sub] of Object.entries(v)) this.#lint(sub, base, `${at}/${name}`);
      } else if (ANNOTATIONS.has(k)) {
        continue;
      } else if (!ASSERTIONS.has(k)) {
        throw new Error(`unsupported keyword "${k}" at ${base}${at}`);
      } else if (k === '$ref') {
        this.#resolve(v, base);
      } else if (k === 'pattern') {
        this.#pattern(v);
      } else if (k === 'format' && !FORMATS[v]) {
        throw new Error(`unsupported format "${v}" at ${base}${at}`);
      } else if (k === 'properties') {
        for (const [name, sub] of Object.entries(v)) this.#lint(sub, base, `${at}/${name}`);
      } else if (['allOf', 'anyOf', 'oneOf'].includes(k)) {
        v.forEach((sub, i) => this.#lint(sub, base, `${at}/${i}`));
      } else if (['not', 'if', 'then', 'else', 'items', 'additionalProperties'].includes(k)) {
        this.#lint(v, base, at);
      }
    }
  }

  #pattern(p) {
    let re = this.#regex.get(p);
    if (!re) {
      re = new RegExp(p, 'u');
      this.#regex.set(p, re);
    }
    return re;
  }

  #resolve(ref, base) {
    const url = new URL(ref, base);
    const fragment = decodeURIComponent(url.hash.replace(/^#/, ''));
    url.hash = '';
    const docId = url.href;
    const doc = this.#docs.get(docId);
    if (!doc) throw new Error(`reference to unknown schema ${docId} from ${base}`);
    return { schema: pointerGet(doc, fragment, `${ref} from ${base}`), base: docId };
  }

  #check(schema, v, base, path, errors) {
    if (schema === true) return;
    if (schema === false) {
      errors.push({ path, message: 'is not allowed' });
      return;
    }
    const fail = (message, at = path) => errors.push({ path: at, message });
    for (const [k, s] of Object.entries(schema)) {
      if (ANNOTATIONS.has(k)) continue;
      switch (k) {
        case '$ref': {
          const target = this.#resolve(s, base);
          this.#check(target.schema, v, target.base, path, errors);
          break;
        }
        case 'type': {
          const types = Array.isArray(s) ? s : [s];
          if (!types.some((t) => hasType(v, t))) fail(`must be of type ${types.join(' or ')}`);
          break;
        }
        case 'const':
          if (!deepEqual(v, s)) fail(`must equal ${JSON.stringify(s)}`);
          break;
        case 'enum':
          if (!s.some((x) => deepEqual(v, x))) fail(`must be one of ${JSON.stringify(s)}`);
          break;
        case 'properties':
          if (typeOf(v) === 'object') {
            for (const [name, sub] of Object.entries(s)) {
              if (Object.hasOwn(v, name)) this.#check(sub, v[name], base, childPath(path, name), errors);
            }
          }
          break;
        case 'required':
          if (typeOf(v) === 'object') {
            for (const name of s) if (!Object.hasOwn(v, name)) fail(`is missing required member "${name}"`);
          }
          break;
        case 'additionalProperties':
          if (typeOf(v) === 'object') {
            const known = schema.properties ?? {};
            for (const name of Object.keys(v)) {
              if (Object.hasOwn(known, name)) continue;
              if (s === false) fail(`has unknown member "${name}"`);
              else this.#check(s, v[name], base, childPath(path, name), errors);
            }
          }
          break;
        case 'dependentRequired':
          if (typeOf(v) === 'object') {
            for (const [name, deps] of Object.entries(s)) {
              if (!Object.hasOwn(v, name)) continue;
              for (const d of deps) if (!Object.hasOwn(v, d)) fail(`member "${name}" requires member "${d}"`);
            }
          }
          break;
        case 'items':
          if (Array.isArray(v)) v.forEach((x, i) => this.#check(s, x, base, childPath(path, i), errors));
          break;
        case 'minItems':
          if (Array.isArray(v) && v.length < s) fail(`must have at least ${s} items`);
          break;
        case 'maxItems':
          if (Array.isArray(v) && v.length > s) fail(`must have at most ${s} items`);
          break;
        case 'uniqueItems':
          if (s && Array.isArray(v) && v.some((x, i) => v.slice(i + 1).some((y) => deepEqual(x, y)))) {
            fail('must not repeat items');
          }
          break;
        case 'minLength':
          if (typeof v === 'string' && [...v].length < s) fail(`must be at least ${s} characters`);
          break;
        case 'maxLength':
          if (typeof v === 'string' && [...v].length > s) fail(`must be at most ${s} characters`);
          break;
        case 'pattern':
          if (typeof v === 'string' && !this.#pattern(s).test(v)) fail(`must match ${s}`);
          break;
        case 'minimum':
          if (typeof v === 'number' && v < s) fail(`must be >= ${s}`);
          break;
        case 'maximum':
          if (typeof v === 'number' && v > s) fail(`must be <= ${s}`);
          break;
        case 'format': {
          const f = FORMATS[s];
          if (!f) throw new Error(`unsupported format "${s}"`);
          if (typeof v === 'string' && !f(v)) fail(`must be a ${s}`);
          break;
        }
        case 'allOf':
          for (const sub of s) this.#check(sub, v, base, path, errors);
          break;
        case 'anyOf': {
          const runs = s.map((sub) => this.#run(sub, v, base, path));
          if (!runs.some((r) => r.length === 0)) {
            fail(`must match at least one of ${s.length} alternatives`);
            errors.push(...fewest(runs));
          }
          break;
        }
        case 'oneOf': {
          const runs = s.map((sub) => this.#run(sub, v, base, path));
          const matched = runs.filter((r) => r.length === 0).length;
          if (matched !== 1) {
            fail(`must match exactly one of ${s.length} alternatives (matched ${matched})`);
            if (matched === 0) errors.push(...fewest(runs));
          }
          break;
        }
        case 'not':
          if (this.#run(s, v, base, path).length === 0) fail(`must not match ${JSON.stringify(s)}`);
          break;
        case 'if': {
          const ok = this.#run(s, v, base, path).length === 0;
          const branch = ok ? schema.then : schema.else;
          if (branch !== undefined) this.#check(branch, v, base, path, errors);
          break;
        }
        case 'then':
        case 'else':
          break; // evaluated with 'if'
        default:
          throw new Error(`unsupported keyword "${k}" in ${base}`);
      }
    }
  }

  #run(schema, v, base, path) {
    const errors = [];
    this.#check(schema, v, base, path, errors);
    return errors;
  }
}

function fewest(runs) {
  return runs.reduce((best, r) => (best === null || r.length < best.length ? r : best), null) ?? [];
}
