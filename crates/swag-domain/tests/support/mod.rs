//! A fresh, migrated database per test: a temporary SQLite file, or a new schema in the
//! PostgreSQL database named by `TEST_DATABASE_URL`.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

pub struct TestDb {
    pub db: DatabaseConnection,
    _dir: Option<tempfile::TempDir>,
    /// (admin URL, schema) to drop when the test ends.
    schema: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((url, schema)) = self.schema.take() else {
            return;
        };
        // Drop runs inside the test's runtime; use a thread with its own to run the async drop.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop a test schema");
        }
    }
}

pub async fn test_db() -> TestDb {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let schema = format!("t_{}", hex::encode(rand::random::<[u8; 6]>()));
            let admin = Database::connect(&url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create schema");
            let mut options = ConnectOptions::new(url.clone());
            options
                .set_schema_search_path(schema.clone())
                .max_connections(20)
                .sqlx_logging(false);
            let db = Database::connect(options)
                .await
                .expect("connect with schema");
            Migrator::up(&db, None).await.expect("migrate");
            TestDb {
                db,
                _dir: None,
                schema: Some((url, schema)),
            }
        }
        _ => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            let mut options = ConnectOptions::new(url);
            options.max_connections(10).sqlx_logging(false);
            let db = Database::connect(options).await.expect("open sqlite");
            Migrator::up(&db, None).await.expect("migrate");
            TestDb {
                db,
                _dir: Some(dir),
                schema: None,
            }
        }
    }
}
