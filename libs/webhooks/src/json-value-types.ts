/**
 * JSON as it travels in a webhook body. Object members may be `undefined` so
 * that values typed by Prisma (`{ [key]?: JsonValue }`) are accepted as they
 * are; JSON.stringify drops such members, exactly as the database would.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonArray = readonly JsonValue[];
export interface JsonObject {
  readonly [key: string]: JsonValue | undefined;
}
export type JsonValue = JsonPrimitive | JsonArray | JsonObject;
