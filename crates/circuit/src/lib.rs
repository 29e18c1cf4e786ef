//! Circuit layer: compiles the quantised IR into proof relations, proves and verifies, stores circuit artifacts.
