import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { analyzeSource } from '@kiln/core';
import { z } from 'zod';
import { RequireScopes } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod-body.pipe';

const validateBody = z.object({ code: z.string().max(16 * 1024 * 1024) });

@Controller('v1/code')
export class CodeController {
  /** A real parse (acorn): the error names its line and column. */
  @Post('validate')
  @HttpCode(200)
  @RequireScopes('scripts.read')
  validate(@Body(new ZodPipe(validateBody)) body: z.infer<typeof validateBody>) {
    if (body.code.trim().length === 0) return { valid: false, error: { message: 'Code cannot be empty', line: 1, column: 1 } };
    const analysis = analyzeSource(body.code);
    return analysis.valid ? { valid: true, error: null, style: analysis.style } : { valid: false, error: analysis.error };
  }
}
