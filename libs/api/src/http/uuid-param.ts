import type { PipeTransform } from '@nestjs/common';
import { isUuid, KilnError } from '@kiln/core';

/**
 * A malformed id cannot exist, so it answers 404 like any unknown id
 * (never a 500 from the database's uuid cast).
 */
export function uuidParam(what: string): PipeTransform<string, string> {
  return {
    transform(value: string): string {
      if (!isUuid(value)) throw KilnError.notFound(what, value);
      return value.toLowerCase();
    },
  };
}
