"""The Semi-IIN network: config, masks, attention layers, fusion and heads."""

from core_model.model.config import ConvSpec, EncoderConfig, SemiIINConfig
from core_model.model.semi_iin import SemiIIN, SemiIINOutput, count_parameters

__all__ = ["ConvSpec", "EncoderConfig", "SemiIIN", "SemiIINConfig", "SemiIINOutput", "count_parameters"]
