"""Semi-supervised learning for compact image classifiers in the biomedical context

```python
import semicompact.core, semicompact.data, semicompact.models, semicompact.train, semicompact.tta, semicompact.distill, semicompact.consistency
import semicompact.quantize, semicompact.stats, semicompact.study
from semicompact.core import *
from semicompact.data import *
from semicompact.models import *
from semicompact.train import *
from semicompact.tta import *
from semicompact.distill import *
from semicompact.consistency import *
from semicompact.quantize import *
from semicompact.stats import *
from semicompact.study import *
__all__ = [n for m in (semicompact.core, semicompact.data, semicompact.models, semicompact.train, semicompact.tta, semicompact.distill,
                       semicompact.consistency, semicompact.quantize, semicompact.stats, semicompact.study) for n in m.__all__ if not n.startswith('cmd_')]
```"""

__version__ = "0.0.1"
