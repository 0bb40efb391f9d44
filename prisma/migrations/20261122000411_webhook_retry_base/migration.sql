-- AlterTable
ALTER TABLE "webhook_deliveries" ADD COLUMN     "retry_base" INTEGER NOT NULL DEFAULT 0;
