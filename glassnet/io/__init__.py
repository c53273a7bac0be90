"""Files: model files (safetensors + JSON, no pickle), checkpoints, ONNX export."""
