from .model import RFModel, DataSpectrum
