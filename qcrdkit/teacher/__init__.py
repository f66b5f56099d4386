"""Teacher side: OpenAI-compatible client with disk cache, prompts, importers, Batch API, and the
synthetic offline teacher for ``arith``."""
from qcrdkit.teacher.cache import CompletionCache
from qcrdkit.teacher.client import TeacherClient, TeacherConfig, TeacherError, resolve_api_key
from qcrdkit.teacher.importers import import_dss_llm, import_jsonl
from qcrdkit.teacher.sampling import sample_teacher, teacher_prompts
from qcrdkit.teacher.synthetic import SyntheticTeacher, SyntheticTeacherServer

__all__ = ["CompletionCache", "TeacherClient", "TeacherConfig", "TeacherError", "resolve_api_key",
           "import_dss_llm", "import_jsonl", "sample_teacher", "teacher_prompts", "SyntheticTeacher",
           "SyntheticTeacherServer"]
