import { Controller, Get, Header } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { InjectConfig } from '@kiln/platform';
import { Public } from '../auth/auth.decorators';
import { buildOpenApiDocument } from './openapi-document';

const SWAGGER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kiln API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/kiln-swagger-init.js"></script>
</body></html>`;

@Controller('docs')
@Public()
export class DocsController {
  constructor(@InjectConfig() private readonly config: KilnConfig) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return SWAGGER_PAGE;
  }

  @Get('openapi.json')
  document(): unknown {
    return buildOpenApiDocument(this.config.http.publicUrl ?? '/');
  }

  // A script file rather than inline code, so a strict CSP can stay on.
  @Get('assets/kiln-swagger-init.js')
  @Header('Content-Type', 'application/javascript; charset=utf-8')
  init(): string {
    return "window.ui = SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#swagger-ui' });";
  }
}
