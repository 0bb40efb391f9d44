-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "steps" JSONB;
