export { RunnerModule } from './runner.module';
