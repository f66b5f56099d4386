"""Teacher side: OpenAI-compatible client with disk cache, prompts, importers, Batch API, and the
synthetic offline teacher for ``arith``."""
from .cache import CompletionCache
from .client import TeacherClient, TeacherConfig, TeacherError, resolve_api_key
from .importers import import_dss_llm, import_jsonl
from .sampling import sample_teacher, teacher_prompts
from .synthetic import SyntheticTeacher, SyntheticTeacherServer

__all__ = ["CompletionCache", "TeacherClient", "TeacherConfig", "TeacherError", "resolve_api_key",
           "import_dss_llm", "import_jsonl", "sample_teacher", "teacher_prompts", "SyntheticTeacher",
           "SyntheticTeacherServer"]
