import Database from 'better-sqlite3';

/**
 * `SQLITE_NATIVE_BINDING`: the path of a better-sqlite3 native addon (`better_sqlite3.node`) to
 * load instead of the one `npm ci` built in node_modules. An addon loads only on the Node.js
 * major version whose headers it was built against, so one install tree can run on a second Node
 * with an addon built for it: the tests' Node 24 pass does so (see scripts/node24.sh). Unset,
 * better-sqlite3 loads its own build.
 */
export function sqliteNativeBinding(): string | undefined {
  return process.env.SQLITE_NATIVE_BINDING?.trim() || undefined;
}

/** Opens a database with better-sqlite3, through the addon `SQLITE_NATIVE_BINDING` names if set. */
export function openSqlite(file: string, options: Database.Options = {}): Database.Database {
  return new Database(file, { nativeBinding: sqliteNativeBinding(), ...options });
}
