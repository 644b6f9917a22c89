"""Media decoding, transcripts, forced alignment, voice activity and faces."""
