"""The Semi-IIN network: config, masks, attention layers, fusion and heads."""
