"""Semi-supervised learning for compact image classifiers in the biomedical context

```python
from semicompact.data import *
from semicompact.models import *
from semicompact.train import *
from semicompact.stats import *
```"""

__version__ = "0.0.1"
