import { createDatabase } from "../db/client.js";
import { migrateDatabase } from "../db/migrate.js";
import { loadConfig, redactUrl } from "../env.js";

const config = loadConfig();
const database = await createDatabase(config.database, { max: 1 });
try {
  await migrateDatabase(database);
  console.log(`migrations applied to ${redactUrl(config.database.url)}`);
} finally {
  await database.close();
}
