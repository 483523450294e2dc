#include "plugins/http/unix_http_server.h"
