/* placeholder: being written */
typedef int vq_placeholder_;
