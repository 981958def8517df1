// MikroORM's own configuration, for its CLI and tools: the database comes from PIECEWORK_DATABASE_URL
// (default: the embedded SQLite file). The engine builds the same options in src/store/migrate.ts.
import { ormOptions } from './src/store/migrate.js'

export default ormOptions(process.env.PIECEWORK_DATABASE_URL ?? 'sqlite:./data/piecework.db')
