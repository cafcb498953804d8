"""Semi-supervised learning for compact image classifiers in the biomedical context: train a network small and fast enough for a phone or an edge device (MixNet, MnasNet, FBNet, MobileNet, ResNet-18, SqueezeNet, ShuffleNet, int8 ResNets) on a folder of images of which only a few are labelled, with the paper's splits and fastai recipe, self-training (plain, data, model and model-data distillation), FixMatch and MixMatch, int8 export and the statistics to compare methods; `from semicompact.all import *` imports the whole API and `semicompact --help` lists the commands."""

__version__ = "0.0.1"
