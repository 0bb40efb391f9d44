import { Module } from '@nestjs/common';
import { AgentsModule } from './agents/agents.module';
import { ApiRunModule } from './api-run/api-run.module';
import { CodeNodeModule } from './code-node/code-node.module';
import { ScenariosModule } from './scenarios/scenarios.module';

/**
 * The compatibility surfaces (SPEC §9): thin adapters that answer in the
 * request and response shapes of APIs users already have clients for, over
 * the same core (RunsService, ExecutionControl, ExecutionRepository).
 * See docs/compat.md.
 */
@Module({
  imports: [ApiRunModule, AgentsModule, ScenariosModule, CodeNodeModule],
})
export class CompatModule {}
