//! The in-memory view of synced functions, loaded from `inngest_functions` and replaced on
//! each sync.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use crate::entity::function;
use crate::function_def::FunctionDef;

/// Synced functions by full id.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    functions: HashMap<String, Arc<FunctionDef>>,
}

impl Registry {
    /// Loads every stored function; configs that no longer parse are skipped with a warning.
    pub async fn load(c: &impl ConnectionTrait) -> Result<Self, DbErr> {
        let mut functions = HashMap::new();
        for row in function::Entity::find().all(c).await? {
            let parsed = serde_json::from_str(&row.config)
                .map_err(|e| e.to_string())
                .and_then(|config| FunctionDef::parse(&config));
            match parsed {
                Ok(def) => {
                    functions.insert(row.id, Arc::new(def));
                }
                Err(error) => {
                    tracing::warn!(function = %row.id, %error, "stored function config skipped")
                }
            }
        }
        Ok(Self { functions })
    }

    /// A function by full id.
    pub fn get(&self, id: &str) -> Option<Arc<FunctionDef>> {
        self.functions.get(id).cloned()
    }

    /// Every function.
    pub fn all(&self) -> impl Iterator<Item = &Arc<FunctionDef>> {
        self.functions.values()
    }
}
