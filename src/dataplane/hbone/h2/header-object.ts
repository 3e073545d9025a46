// Header fields as the object node:http2 hands out: one property per name, repeated names joined.
export function headerObject(fields: Array<[string, string]>): Record<string, string | number> {
  const headers: Record<string, string | number> = Object.create(null) as Record<string, string | number>;
  for (const [name, value] of fields) {
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${String(previous)}, ${value}`;
  }
  return headers;
}
