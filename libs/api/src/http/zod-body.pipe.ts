import { type PipeTransform } from '@nestjs/common';
import { KilnError } from '@kiln/core';
import type { z } from 'zod';

function fieldName(path: PropertyKey[], root: string): string {
  return path.length === 0 ? root : path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

/** Validates a body or query with a zod schema; failures are 400 VALIDATION_ERROR with one entry per field. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly root = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const fields = result.error.issues.map((issue) => ({ field: fieldName(issue.path, this.root), message: issue.message }));
    throw KilnError.validation(fields);
  }
}
