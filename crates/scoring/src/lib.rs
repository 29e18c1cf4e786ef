//! The subnet's exact integer scoring arithmetic, response-time statistics and weight conversion.
