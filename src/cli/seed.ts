import { seed } from "../../seeds/index.js";
import { createDatabase } from "../db/client.js";
import { loadConfig, redactUrl } from "../env.js";

const config = loadConfig();
const database = await createDatabase(config.database);
try {
  const inserted = await seed(database.db);
  console.log(`seeded ${redactUrl(config.database.url)}: ${JSON.stringify(inserted)} new rows`);
} finally {
  await database.close();
}
